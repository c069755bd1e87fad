//! Organizational-unit targeting: `--ou` as an id (`ou-…`), a path from the root
//! (`Root/Workloads/Sandbox`, `/` or `:` separators) or a bare name (case-insensitive, only when
//! unique: OU names are unique among siblings only).

use std::collections::BTreeMap;

/// One OU of the organization tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ou {
    /// `ou-…` (or the root's `r-…`).
    pub id: String,
    /// Display name.
    pub name: String,
    /// Parent id (`None` for the root).
    pub parent: Option<String>,
}

/// The organization's OU tree, read once per run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OrgTree {
    /// The root id (`r-…`).
    pub root: String,
    /// Every OU by id, the root included (named `Root`).
    pub ous: BTreeMap<String, Ou>,
}

/// A target that does not name exactly one OU.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    /// No OU matches; the closest names are suggested.
    #[error("no OU `{target}` in the organization{}", suggest(.closest))]
    NotFound {
        /// What was asked.
        target: String,
        /// Paths of the closest names.
        closest: Vec<String>,
    },
    /// A bare name found under several parents.
    #[error("OU name `{target}` is ambiguous; use one of the paths: {}", .paths.join(", "))]
    Ambiguous {
        /// What was asked.
        target: String,
        /// Paths of every OU with that name.
        paths: Vec<String>,
    },
}

fn suggest(closest: &[String]) -> String {
    if closest.is_empty() {
        String::new()
    } else {
        format!("; closest: {}", closest.join(", "))
    }
}

impl OrgTree {
    /// Starts a tree with its root.
    pub fn new(root: &str) -> OrgTree {
        let mut ous = BTreeMap::new();
        ous.insert(
            root.to_owned(),
            Ou {
                id: root.to_owned(),
                name: "Root".to_owned(),
                parent: None,
            },
        );
        OrgTree {
            root: root.to_owned(),
            ous,
        }
    }

    /// Adds an OU under `parent`.
    pub fn add(&mut self, id: &str, name: &str, parent: &str) {
        self.ous.insert(
            id.to_owned(),
            Ou {
                id: id.to_owned(),
                name: name.to_owned(),
                parent: Some(parent.to_owned()),
            },
        );
    }

    /// Whether the tree holds this OU (or root) id.
    pub fn contains(&self, id: &str) -> bool {
        self.ous.contains_key(id)
    }

    /// The OU and every OU below it, at any depth.
    pub fn subtree(&self, id: &str) -> Vec<String> {
        let mut out = vec![id.to_owned()];
        let mut i = 0;
        while i < out.len() {
            let parent = out[i].clone();
            out.extend(
                self.ous
                    .values()
                    .filter(|o| o.parent.as_deref() == Some(parent.as_str()))
                    .map(|o| o.id.clone()),
            );
            i += 1;
        }
        out
    }

    /// `Root/Workloads/Sandbox` of an OU id.
    pub fn path(&self, id: &str) -> String {
        let mut parts = Vec::new();
        let mut cursor = self.ous.get(id);
        while let Some(ou) = cursor {
            parts.push(ou.name.as_str());
            cursor = ou.parent.as_deref().and_then(|p| self.ous.get(p));
            if parts.len() > 8 {
                break; // OUs nest at most 5 levels; a cycle would be a broken tree
            }
        }
        parts.reverse();
        parts.join("/")
    }

    /// Resolves one `--ou` value to an OU id.
    ///
    /// ```
    /// use guardrails_deploy::ou::OrgTree;
    /// let mut t = OrgTree::new("r-ab12");
    /// t.add("ou-ab12-11111111", "Workloads", "r-ab12");
    /// t.add("ou-ab12-22222222", "Sandbox", "ou-ab12-11111111");
    /// assert_eq!(t.resolve("sandbox").unwrap(), "ou-ab12-22222222");
    /// assert_eq!(t.resolve("Root:Workloads:Sandbox").unwrap(), "ou-ab12-22222222");
    /// ```
    pub fn resolve(&self, target: &str) -> Result<String, TargetError> {
        let target = target.trim();
        if self.ous.contains_key(target) {
            return Ok(target.to_owned());
        }
        if target.contains('/') || target.contains(':') {
            let wanted: Vec<String> = target
                .split(['/', ':'])
                .filter(|p| !p.is_empty())
                .map(str::to_ascii_lowercase)
                .collect();
            let found = self.ous.keys().find(|id| {
                let path: Vec<String> = self
                    .path(id)
                    .split('/')
                    .map(str::to_ascii_lowercase)
                    .collect();
                path == wanted
                    || (wanted.first().map(String::as_str) != Some("root")
                        && path[1..] == wanted[..])
            });
            return found.cloned().ok_or_else(|| self.not_found(target));
        }
        let matches: Vec<&Ou> = self
            .ous
            .values()
            .filter(|ou| ou.parent.is_some() && ou.name.eq_ignore_ascii_case(target))
            .collect();
        match matches.as_slice() {
            [one] => Ok(one.id.clone()),
            [] => Err(self.not_found(target)),
            many => Err(TargetError::Ambiguous {
                target: target.to_owned(),
                paths: many.iter().map(|ou| self.path(&ou.id)).collect(),
            }),
        }
    }

    fn not_found(&self, target: &str) -> TargetError {
        let last = target
            .rsplit(['/', ':'])
            .next()
            .unwrap_or(target)
            .to_ascii_lowercase();
        let mut scored: Vec<(usize, String)> = self
            .ous
            .values()
            .filter(|ou| ou.parent.is_some())
            .map(|ou| {
                (
                    strsim::levenshtein(&ou.name.to_ascii_lowercase(), &last),
                    self.path(&ou.id),
                )
            })
            .collect();
        scored.sort();
        TargetError::NotFound {
            target: target.to_owned(),
            closest: scored.into_iter().take(3).map(|(_, p)| p).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree() -> OrgTree {
        let mut t = OrgTree::new("r-ab12");
        t.add("ou-ab12-00000001", "Workloads", "r-ab12");
        t.add("ou-ab12-00000002", "Sandbox", "ou-ab12-00000001");
        t.add("ou-ab12-00000003", "Security", "r-ab12");
        t.add("ou-ab12-00000004", "Prod", "ou-ab12-00000001");
        t.add("ou-ab12-00000005", "Prod", "ou-ab12-00000003");
        t.add("ou-ab12-00000006", "Deep", "ou-ab12-00000002");
        t
    }

    #[test]
    fn ids_paths_and_unique_names_resolve() {
        let t = tree();
        assert_eq!(t.resolve("ou-ab12-00000002").unwrap(), "ou-ab12-00000002");
        assert_eq!(t.resolve("SANDBOX").unwrap(), "ou-ab12-00000002");
        assert_eq!(
            t.resolve("Root/Workloads/Sandbox/Deep").unwrap(),
            "ou-ab12-00000006"
        );
        assert_eq!(t.resolve("Workloads:Prod").unwrap(), "ou-ab12-00000004");
        assert_eq!(t.path("ou-ab12-00000006"), "Root/Workloads/Sandbox/Deep");
    }

    #[test]
    fn an_ambiguous_name_lists_the_paths() {
        let err = tree().resolve("prod").unwrap_err().to_string();
        assert!(
            err.contains("Root/Workloads/Prod") && err.contains("Root/Security/Prod"),
            "{err}"
        );
    }

    #[test]
    fn an_unknown_name_suggests_the_closest() {
        let err = tree().resolve("sandbx").unwrap_err().to_string();
        assert!(err.contains("closest: Root/Workloads/Sandbox"), "{err}");
        assert!(tree().resolve("Root/Nope").is_err());
    }
}
