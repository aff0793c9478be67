//! Reading the answer to a `_bulk` request: one status per operation, in request order.

use serde::Deserialize;

/// What happened to one operation, as the writer needs to know it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ItemStatus {
    /// Written (2xx).
    Ok,
    /// 409 `version_conflict_engine_exception`: the index already holds this or a newer version.
    /// Under external versioning that is exactly the desired end state, so it counts as success.
    Conflict,
    /// 404 on a delete without an error: the document was not there, which is what a delete wants.
    NotFound,
    /// 429 for this item alone: the node was overloaded; the item is sent again.
    Retry,
    /// Anything else: the document is rejected and goes back to the caller.
    Failed {
        status: u16,
        error_type: String,
        reason: String,
    },
}

#[derive(Deserialize)]
struct BulkBody {
    #[serde(default)]
    items: Vec<ItemWrap>,
}

/// Each item is an object with one key, the action name. Elasticsearch answers with the action
/// of the request line, so only these four keys can occur.
#[derive(Deserialize)]
struct ItemWrap {
    #[serde(default)]
    index: Option<ItemBody>,
    #[serde(default)]
    create: Option<ItemBody>,
    #[serde(default)]
    update: Option<ItemBody>,
    #[serde(default)]
    delete: Option<ItemBody>,
}

#[derive(Deserialize)]
struct ItemBody {
    status: u16,
    #[serde(default)]
    error: Option<ItemError>,
}

#[derive(Deserialize)]
struct ItemError {
    #[serde(rename = "type", default)]
    error_type: String,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    caused_by: Option<Box<ItemError>>,
}

impl ItemError {
    /// The reason with the first cause appended, because mapping errors keep the useful part
    /// ("For input string: ...") in `caused_by`.
    fn full_reason(&self) -> String {
        let mut text = self.reason.clone().unwrap_or_default();
        if let Some(cause) = &self.caused_by {
            let inner = cause.reason.as_deref().unwrap_or(&cause.error_type);
            if !inner.is_empty() && !text.contains(inner) {
                text.push_str(" (caused by ");
                text.push_str(&cause.error_type);
                text.push_str(": ");
                text.push_str(inner);
                text.push(')');
            }
        }
        text
    }
}

/// Parses a 2xx `_bulk` answer. `is_delete(i)` tells whether request item `i` was a delete.
/// Fails when the body is not a bulk answer or its item count differs from `expected`, because
/// then statuses cannot be matched to operations.
pub(crate) fn parse_bulk_response(
    body: &[u8],
    expected: usize,
    is_delete: impl Fn(usize) -> bool,
) -> Result<Vec<ItemStatus>, String> {
    let parsed: BulkBody =
        serde_json::from_slice(body).map_err(|e| format!("not a bulk answer: {e}"))?;
    if parsed.items.len() != expected {
        return Err(format!(
            "the answer lists {} items for {expected} operations",
            parsed.items.len()
        ));
    }
    let mut out = Vec::with_capacity(expected);
    for (i, wrap) in parsed.items.into_iter().enumerate() {
        let item = wrap
            .index
            .or(wrap.create)
            .or(wrap.update)
            .or(wrap.delete)
            .ok_or_else(|| format!("item {i} has no index/create/update/delete key"))?;
        out.push(classify(item, is_delete(i)));
    }
    Ok(out)
}

fn classify(item: ItemBody, is_delete: bool) -> ItemStatus {
    match (item.status, item.error) {
        (200..=299, _) => ItemStatus::Ok,
        (409, Some(e)) if e.error_type == "version_conflict_engine_exception" => {
            ItemStatus::Conflict
        }
        (404, None) if is_delete => ItemStatus::NotFound,
        (429, _) => ItemStatus::Retry,
        (status, Some(e)) => ItemStatus::Failed {
            status,
            reason: e.full_reason(),
            error_type: e.error_type,
        },
        (status, None) => ItemStatus::Failed {
            status,
            error_type: String::new(),
            reason: format!("HTTP {status} without an error body"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mixed_answer_is_classified_per_item() {
        // Shapes taken from a real osmem/OpenSearch answer, trimmed.
        let body = br#"{"took":3,"errors":true,"items":[
          {"index":{"_id":"a","_index":"i","_version":5,"result":"created","status":201}},
          {"index":{"_id":"a","_index":"i","error":{"reason":"[a]: version conflict, current version [5] is higher or equal to the one provided [3]","type":"version_conflict_engine_exception"},"status":409}},
          {"index":{"_id":"b","_index":"i","error":{"caused_by":{"reason":"For input string: \"x\"","type":"illegal_argument_exception"},"reason":"failed to parse field [n] of type [long]","type":"mapper_parsing_exception"},"status":400}},
          {"delete":{"_id":"zz","_index":"i","result":"not_found","status":404}},
          {"delete":{"_id":"a","_index":"i","error":{"type":"version_conflict_engine_exception","reason":"conflict"},"status":409}},
          {"index":{"_id":"c","_index":"i","error":{"type":"es_rejected_execution_exception","reason":"queue full"},"status":429}},
          {"index":{"_id":"d","_index":"missing","error":{"type":"index_not_found_exception","reason":"no such index"},"status":404}},
          {"update":{"_id":"e","_index":"i","status":200}}
        ]}"#;
        let deletes = [3, 4];
        let items = parse_bulk_response(body, 8, |i| deletes.contains(&i)).expect("parses");
        assert_eq!(items[0], ItemStatus::Ok);
        assert_eq!(items[1], ItemStatus::Conflict);
        match &items[2] {
            ItemStatus::Failed {
                status: 400,
                error_type,
                reason,
            } => {
                assert_eq!(error_type, "mapper_parsing_exception");
                assert!(
                    reason.contains("failed to parse field [n]")
                        && reason.contains("For input string"),
                    "{reason}"
                );
            }
            other => panic!("unexpected {other:?}"),
        }
        assert_eq!(items[3], ItemStatus::NotFound);
        assert_eq!(items[4], ItemStatus::Conflict);
        assert_eq!(items[5], ItemStatus::Retry);
        assert!(
            matches!(&items[6], ItemStatus::Failed { status: 404, error_type, .. } if error_type == "index_not_found_exception")
        );
        assert_eq!(items[7], ItemStatus::Ok);
    }

    #[test]
    fn a_409_of_another_kind_is_a_failure() {
        let body = br#"{"errors":true,"items":[{"create":{"status":409,"error":{"type":"other_exception","reason":"r"}}}]}"#;
        let items = parse_bulk_response(body, 1, |_| false).expect("parses");
        assert!(matches!(&items[0], ItemStatus::Failed { status: 409, .. }));
    }

    #[test]
    fn a_404_on_index_without_error_is_a_failure() {
        let body = br#"{"errors":true,"items":[{"index":{"status":404}}]}"#;
        let items = parse_bulk_response(body, 1, |_| false).expect("parses");
        assert!(matches!(&items[0], ItemStatus::Failed { status: 404, .. }));
    }

    #[test]
    fn count_mismatch_and_garbage_are_errors() {
        let body = br#"{"errors":false,"items":[{"index":{"status":201}}]}"#;
        assert!(
            parse_bulk_response(body, 2, |_| false)
                .unwrap_err()
                .contains("1 items for 2")
        );
        assert!(parse_bulk_response(b"<html>", 1, |_| false).is_err());
        assert!(parse_bulk_response(br#"{"items":[{"other":{}}]}"#, 1, |_| false).is_err());
    }
}
