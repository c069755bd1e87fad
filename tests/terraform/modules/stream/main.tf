# A child module: its stream is on the AWS-managed key given by alias ARN.
variable "name" {
  type = string
}

resource "aws_kinesis_stream" "this" {
  name            = var.name
  shard_count     = 1
  encryption_type = "KMS"
  kms_key_id      = "arn:aws:kms:us-east-1:111122223333:alias/aws/kinesis"
}
