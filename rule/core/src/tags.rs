//! Tag normalisation. Config is inconsistent: `tags` is a map, while
//! `supplementaryConfiguration.Tags` and Kinesis' `configuration.Tags` are lists spelled
//! `Key/Value`, `key/value` or `tagKey/tagValue`. All of them become one map.

use std::collections::BTreeMap;

use serde_json::Value;

const KEY_NAMES: [&str; 3] = ["Key", "key", "tagKey"];
const VALUE_NAMES: [&str; 3] = ["Value", "value", "tagValue"];

/// Merges the item's `tags` map with the tag lists found in supplementary configuration and
/// configuration. Entries that are not tags are skipped: tags only ever *exempt* a resource, so a
/// tag we cannot read can only make the rule stricter.
pub fn collect(
    map: Option<&BTreeMap<String, String>>,
    supplementary: Option<&Value>,
    configuration: Option<&Value>,
) -> BTreeMap<String, String> {
    let mut tags = map.cloned().unwrap_or_default();
    for list in [supplementary, configuration].into_iter().flatten() {
        add_list(&mut tags, list);
    }
    tags
}

fn add_list(tags: &mut BTreeMap<String, String>, list: &Value) {
    match list {
        Value::Array(entries) => {
            for entry in entries {
                let field = |names: &[&str]| {
                    names
                        .iter()
                        .find_map(|n| entry.get(*n).and_then(Value::as_str))
                };
                if let Some(key) = field(&KEY_NAMES) {
                    let value = field(&VALUE_NAMES).unwrap_or_default();
                    tags.entry(key.to_owned())
                        .or_insert_with(|| value.to_owned());
                }
            }
        }
        // Some items carry the supplementary tags as a map, like the top-level `tags`.
        Value::Object(map) => {
            for (key, value) in map {
                if let Some(value) = value.as_str() {
                    tags.entry(key.clone()).or_insert_with(|| value.to_owned());
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_spelling_of_a_tag_list_is_read() {
        let map = BTreeMap::from([("team".to_owned(), "data".to_owned())]);
        let supplementary = json!([{"key": "a", "value": "1"}, {"tagKey": "b", "tagValue": "2"}]);
        let configuration = json!([{"Key": "c", "Value": "3"}, {"Key": "team", "Value": "other"}]);
        let tags = collect(Some(&map), Some(&supplementary), Some(&configuration));
        assert_eq!(tags.len(), 4);
        assert_eq!(tags["team"], "data", "the `tags` map wins over lists");
        assert_eq!(tags["a"], "1");
        assert_eq!(tags["b"], "2");
        assert_eq!(tags["c"], "3");
    }

    #[test]
    fn entries_without_a_key_are_skipped() {
        let list = json!([{"Value": "orphan"}, 7, {"Key": "ok"}]);
        let tags = collect(None, Some(&list), None);
        assert_eq!(tags, BTreeMap::from([("ok".to_owned(), String::new())]));
    }
}
