//! An emulated AWS Organization for the deploy tests: created by a fresh management account,
//! with helpers to add OUs and member accounts and to create or attach SCPs by hand.

use aws_sdk_organizations::Client;
use aws_sdk_organizations::types::{OrganizationFeatureSet, PolicyType};

pub struct Organization {
    pub management: String,
    pub client: Client,
    pub root: String,
}

impl Organization {
    /// A new organization (all features) owned by `management`, acting through `client`.
    pub async fn create(management: &str, client: Client) -> Organization {
        client
            .create_organization()
            .feature_set(OrganizationFeatureSet::All)
            .send()
            .await
            .unwrap();
        let root = client.list_roots().send().await.unwrap().roots()[0]
            .id()
            .unwrap()
            .to_owned();
        Organization {
            management: management.to_owned(),
            client,
            root,
        }
    }

    /// Creates an OU under `parent`; returns its id.
    pub async fn ou(&self, parent: &str, name: &str) -> String {
        self.client
            .create_organizational_unit()
            .parent_id(parent)
            .name(name)
            .send()
            .await
            .unwrap()
            .organizational_unit()
            .unwrap()
            .id()
            .unwrap()
            .to_owned()
    }

    /// Creates a member account and moves it under `parent`; returns its id.
    pub async fn account(&self, name: &str, parent: &str) -> String {
        let id = self
            .client
            .create_account()
            .email(format!("{name}-{}@example.com", self.management))
            .account_name(name)
            .send()
            .await
            .unwrap()
            .create_account_status()
            .unwrap()
            .account_id()
            .unwrap()
            .to_owned();
        self.client
            .move_account()
            .account_id(&id)
            .source_parent_id(&self.root)
            .destination_parent_id(parent)
            .send()
            .await
            .unwrap();
        id
    }

    /// Creates an SCP by hand (not ours); returns its id.
    pub async fn policy(&self, name: &str, content: &str) -> String {
        self.client
            .create_policy()
            .name(name)
            .description("created by hand")
            .r#type(PolicyType::ServiceControlPolicy)
            .content(content)
            .send()
            .await
            .unwrap()
            .policy()
            .unwrap()
            .policy_summary()
            .unwrap()
            .id()
            .unwrap()
            .to_owned()
    }

    /// Attaches a policy by hand.
    pub async fn attach(&self, policy: &str, target: &str) {
        self.client
            .attach_policy()
            .policy_id(policy)
            .target_id(target)
            .send()
            .await
            .unwrap();
    }

    /// `(name, id)` of every SCP of the organization.
    pub async fn scps(&self) -> Vec<(String, String)> {
        let out = self
            .client
            .list_policies()
            .filter(PolicyType::ServiceControlPolicy)
            .send()
            .await
            .unwrap();
        out.policies()
            .iter()
            .map(|p| (p.name().unwrap().to_owned(), p.id().unwrap().to_owned()))
            .collect()
    }

    /// Names of the SCPs attached directly to `target`.
    pub async fn attached(&self, target: &str) -> Vec<String> {
        let out = self
            .client
            .list_policies_for_target()
            .target_id(target)
            .filter(PolicyType::ServiceControlPolicy)
            .send()
            .await
            .unwrap();
        out.policies()
            .iter()
            .map(|p| p.name().unwrap().to_owned())
            .collect()
    }
}
