terraform {
  # 1.11: write-only arguments (secret_string_wo) keep a supplied private key out of the state.
  required_version = ">= 1.11"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # 6.28: aws_lambda_permission.invoked_via_function_url (function URLs need
      # lambda:InvokeFunction as well as lambda:InvokeFunctionUrl since October 2025).
      version = ">= 6.28, < 7.0"
    }
    tls = {
      source  = "hashicorp/tls"
      version = ">= 4.0, < 5.0"
    }
  }
}
