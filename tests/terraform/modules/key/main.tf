# A child module that creates a key: to the policy, its output is an ARN known only at apply
# from outside the resource's own module.
resource "aws_kms_key" "this" {
  description = "a key of another module"
}

output "arn" {
  value = aws_kms_key.this.arn
}
