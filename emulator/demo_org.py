"""Creates an organization for `scripts/demo`: Root/Workloads/Sandbox/Team with one member account
in Sandbox and one in Team (boto3, default account)."""

import boto3

REGION = "us-east-1"


def main() -> None:
    org = boto3.client("organizations", region_name=REGION)
    org.create_organization(FeatureSet="ALL")
    root = org.list_roots()["Roots"][0]["Id"]
    parent = root
    ous = {}
    for name in ("Workloads", "Sandbox", "Team"):
        parent = org.create_organizational_unit(ParentId=parent, Name=name)["OrganizationalUnit"]["Id"]
        ous[name] = parent
    for name, ou in (("sandbox-app", ous["Sandbox"]), ("team-app", ous["Team"])):
        account = org.create_account(Email=f"{name}@example.com", AccountName=name)["CreateAccountStatus"]["AccountId"]
        org.move_account(AccountId=account, SourceParentId=root, DestinationParentId=ou)


if __name__ == "__main__":
    main()
