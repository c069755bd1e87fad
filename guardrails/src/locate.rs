//! Where each resource sits in its file, so findings carry `file:line` and SARIF regions:
//! Terraform `resource` blocks by `type.name` (hcl-edit's spans), CloudFormation resources by
//! logical id (saphyr's YAML events, which read JSON templates too).

use std::collections::HashMap;
use std::ops::Range;

use hcl_edit::Span;
use saphyr_parser::{Event, Parser, SpannedEventReceiver};

/// A 1-based, inclusive line range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lines {
    /// First line.
    pub start: usize,
    /// Last line.
    pub end: usize,
}

/// Byte offset → 1-based line.
struct LineIndex(Vec<usize>);

impl LineIndex {
    fn new(text: &str) -> LineIndex {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex(starts)
    }

    fn line(&self, offset: usize) -> usize {
        self.0.partition_point(|&start| start <= offset)
    }

    fn lines(&self, span: Range<usize>) -> Lines {
        Lines {
            start: self.line(span.start),
            end: self.line(span.end.saturating_sub(1).max(span.start)),
        }
    }
}

/// The line range of each `resource "<type>" "<name>"` block of `body`, parsed from `text`, by
/// `type.name`.
pub fn terraform(text: &str, body: &hcl_edit::structure::Body) -> HashMap<String, Lines> {
    let index = LineIndex::new(text);
    body.get_blocks("resource")
        .filter_map(|block| {
            let [ty, name] = block.labels.as_slice() else {
                return None;
            };
            let span = block.span()?;
            Some((
                format!("{}.{}", ty.as_str(), name.as_str()),
                index.lines(span),
            ))
        })
        .collect()
}

/// The line range of each resource of a CloudFormation template (JSON or YAML), by logical id.
pub fn cloudformation(text: &str) -> HashMap<String, Lines> {
    let mut walk = CfnWalk::default();
    if Parser::new_from_str(text).load(&mut walk, false).is_err() {
        return HashMap::new();
    }
    walk.found
}

/// Follows the events of the first document: the root mapping's `Resources` key, then each key
/// of that mapping and the extent of its value.
#[derive(Default)]
struct CfnWalk {
    /// Nesting depth of mappings and sequences.
    depth: usize,
    /// At depth 1 (the root mapping): whether the next scalar is a key.
    root_key_next: bool,
    /// The root key whose value is being read.
    root_key: Option<String>,
    /// Depth of the `Resources` mapping while inside it.
    in_resources: bool,
    /// Inside `Resources`: whether the next scalar is a key (a logical id).
    resource_key_next: bool,
    /// The logical id whose value is being read, and where it started.
    current: Option<(String, usize)>,
    /// The last line holding a token of that value. A block mapping's end event sits where the
    /// next key starts, so only tokens with a width (scalars, `{`, `}`) count.
    last: usize,
    found: HashMap<String, Lines>,
}

impl<'input> SpannedEventReceiver<'input> for CfnWalk {
    fn on_event(&mut self, ev: Event<'input>, span: saphyr_parser::Span) {
        let line = span.start.line();
        let end_line = span.end.line();
        if self.current.is_some() && span.end.index() > span.start.index() {
            self.last = self.last.max(end_line);
        }
        match ev {
            Event::MappingStart(..) | Event::SequenceStart(..) => {
                self.depth += 1;
                match self.depth {
                    1 => self.root_key_next = true,
                    2 if self.root_key.as_deref() == Some("Resources") => {
                        self.in_resources = true;
                        self.resource_key_next = true;
                    }
                    _ => {}
                }
            }
            Event::MappingEnd | Event::SequenceEnd => {
                if self.depth == 3
                    && self.in_resources
                    && let Some((id, start)) = self.current.take()
                {
                    self.found.insert(
                        id,
                        Lines {
                            start,
                            end: self.last.max(start),
                        },
                    );
                    self.resource_key_next = true;
                }
                if self.depth == 2 {
                    if self.in_resources {
                        self.in_resources = false;
                    }
                    self.root_key = None;
                    self.root_key_next = true;
                }
                self.depth = self.depth.saturating_sub(1);
            }
            Event::Scalar(value, ..) => match self.depth {
                1 if self.root_key_next => {
                    self.root_key = Some(value.into_owned());
                    self.root_key_next = false;
                }
                1 => {
                    self.root_key = None;
                    self.root_key_next = true;
                }
                2 if self.in_resources && self.resource_key_next => {
                    self.current = Some((value.into_owned(), line));
                    self.last = line;
                    self.resource_key_next = false;
                }
                2 if self.in_resources => {
                    // A scalar resource value (malformed, but keep its line).
                    if let Some((id, start)) = self.current.take() {
                        self.found.insert(
                            id,
                            Lines {
                                start,
                                end: end_line.max(start),
                            },
                        );
                    }
                    self.resource_key_next = true;
                }
                _ => {}
            },
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terraform_blocks_have_their_line_ranges() {
        let text = "# header\nresource \"aws_kinesis_stream\" \"a\" {\n  name = \"a\"\n}\n\nvariable \"v\" {}\nresource \"aws_secretsmanager_secret\" \"b\" {\n  replica {\n    region = \"us-west-2\"\n  }\n}\n";
        let found = terraform(text, &hcl_edit::parser::parse_body(text).unwrap());
        assert_eq!(found["aws_kinesis_stream.a"], Lines { start: 2, end: 4 });
        assert_eq!(
            found["aws_secretsmanager_secret.b"],
            Lines { start: 7, end: 11 }
        );
        assert_eq!(found.len(), 2);
    }

    #[test]
    fn cloudformation_resources_have_their_line_ranges_in_yaml_and_json() {
        let yaml = "AWSTemplateFormatVersion: '2010-09-09'\nParameters:\n  Stream:\n    Type: String\nResources:\n  Stream:\n    Type: AWS::Kinesis::Stream\n    Properties:\n      StreamEncryption:\n        KeyId: !Ref Key\n  Key:\n    Type: AWS::KMS::Key\nOutputs:\n  Stream:\n    Value: !Ref Stream\n";
        let found = cloudformation(yaml);
        assert_eq!(
            found["Stream"].start, 6,
            "the resource, not the parameter or output"
        );
        assert_eq!(found["Key"].start, 11);
        assert_eq!(found["Stream"], Lines { start: 6, end: 10 });
        assert_eq!(found["Key"], Lines { start: 11, end: 12 });
        let json = "{\n  \"Resources\": {\n    \"Table\": {\n      \"Type\": \"AWS::DynamoDB::Table\",\n      \"Properties\": {}\n    },\n    \"Other\": {\"Type\": \"AWS::S3::Bucket\"}\n  }\n}\n";
        let found = cloudformation(json);
        assert_eq!(found["Table"], Lines { start: 3, end: 6 });
        assert_eq!(found["Other"], Lines { start: 7, end: 7 });
    }
}
