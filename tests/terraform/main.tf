# A configuration for real `terraform plan` + `show -json` fixtures (tests/opa/test_opa.py runs
# it offline with the provider in /opt/tf-plugins). Each resource's name says what the policies
# must decide about it; tests/terraform/expected.json lists the findings.

terraform {
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "5.100.0"
    }
  }
}

# Dummy credentials: the plan never calls AWS (-refresh=false, no data sources).
provider "aws" {
  region                      = "us-east-1"
  access_key                  = "test"
  secret_key                  = "test"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
}

provider "aws" {
  alias                       = "eu"
  region                      = "eu-west-1"
  access_key                  = "test"
  secret_key                  = "test"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
}

variable "external_key_arn" {
  type    = string
  default = null
}

resource "aws_kms_key" "main" {
  description = "the configuration's own CMK: its ARN is known only at apply"
}

resource "aws_kms_alias" "main" {
  name          = "alias/orders-data"
  target_key_id = aws_kms_key.main.key_id
}

# count: two unencrypted streams, one on the AWS-managed alias, one on the configuration's key.
resource "aws_kinesis_stream" "unencrypted" {
  count       = 2
  name        = "unencrypted-${count.index}"
  shard_count = 1
}

resource "aws_kinesis_stream" "aws_alias" {
  name            = "aws-alias"
  shard_count     = 1
  encryption_type = "KMS"
  kms_key_id      = "alias/aws/kinesis"
}

resource "aws_kinesis_stream" "own_key" {
  name            = "own-key"
  shard_count     = 1
  encryption_type = "KMS"
  kms_key_id      = aws_kms_alias.main.arn
}

# for_each: secrets on no key, on the AWS-managed key's bare name, and on the own key.
resource "aws_secretsmanager_secret" "by_kind" {
  for_each   = { no_key = null, own_key = "own" }
  name       = "secret-${each.key}"
  kms_key_id = each.value == null ? null : aws_kms_key.main.arn
}

resource "aws_secretsmanager_secret" "replica_without_key" {
  name       = "replicated"
  kms_key_id = aws_kms_key.main.arn
  replica {
    region = "eu-west-1"
  }
}

# A variable left at its null default: no key at all.
resource "aws_secretsmanager_secret" "null_variable" {
  name       = "null-variable"
  kms_key_id = var.external_key_arn
}

# A key from another module's output, known only at apply: the policy cannot tell (a warn).
resource "aws_secretsmanager_secret" "module_output" {
  name       = "module-output"
  kms_key_id = module.keys.arn
}

module "keys" {
  source = "./modules/key"
}

resource "aws_dynamodb_table" "sse_without_key" {
  name         = "sse-without-key"
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "pk"
  attribute {
    name = "pk"
    type = "S"
  }
  server_side_encryption {
    enabled = true
  }
}

resource "aws_dynamodb_table" "own_key" {
  name             = "own-key"
  billing_mode     = "PAY_PER_REQUEST"
  hash_key         = "pk"
  stream_enabled   = true
  stream_view_type = "NEW_AND_OLD_IMAGES"
  attribute {
    name = "pk"
    type = "S"
  }
  server_side_encryption {
    enabled     = true
    kms_key_arn = aws_kms_key.main.arn
  }
}

# Replicas made by a dynamic block. The plan expands it into one replica per Region, each without
# a key; the .tf file alone shows the block's template, which has no key either.
resource "aws_dynamodb_table" "dynamic_replicas" {
  name             = "dynamic-replicas"
  billing_mode     = "PAY_PER_REQUEST"
  hash_key         = "pk"
  stream_enabled   = true
  stream_view_type = "NEW_AND_OLD_IMAGES"
  attribute {
    name = "pk"
    type = "S"
  }
  server_side_encryption {
    enabled     = true
    kms_key_arn = aws_kms_key.main.arn
  }
  dynamic "replica" {
    for_each = toset(["eu-central-1", "eu-west-1"])
    content {
      region_name = replica.value
    }
  }
}

# A replica managed as its own resource, without a key: on aws/dynamodb in eu-west-1.
resource "aws_dynamodb_table_replica" "without_key" {
  provider         = aws.eu
  global_table_arn = aws_dynamodb_table.own_key.arn
}

module "events" {
  source = "./modules/stream"
  name   = "events"
}
