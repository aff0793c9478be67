//! The Elasticsearch index body (settings and mappings) of each top-level list of a pipeline.
//!
//! A full update creates a fresh index with this body before loading it (reference Decision 5),
//! so every field has the type mee chose rather than whatever the first document suggested to
//! Elasticsearch's dynamic mapping. Field types come from [`crate::types`]; columns use
//! [`ColumnType::es_type`](crate::sql::schema::ColumnType::es_type), whose doc comment gives the
//! reason for each choice.
//!
//! Key order is deterministic (document order, `serde_json` with `preserve_order`), so the body
//! can be diffed, snapshotted and compared with a live index.

use crate::CompiledPipeline;
use crate::model::ListId;
use crate::sql::schema::{ES_DATE_FORMAT_FRACTION, EsType};
use crate::types::{Field, FieldType, NumKind, list_fields};
use serde_json::{Map, Value as Json, json};

/// Decimals with at most this many digits after the point are `scaled_float`; a larger factor
/// would leave too little of the `long` for the integer part, so wider scales are `double`.
const MAX_SCALED_FLOAT_SCALE: u8 = 8;

/// The index body of one top-level list.
#[derive(Clone, Debug, PartialEq)]
pub struct IndexBody {
    pub list: ListId,
    /// The alias the documents are searched under.
    pub alias: String,
    /// Mee's document type; Elasticsearch 7+ has no types, so it is only recorded in `_meta`.
    pub es_type: String,
    /// `settings` of the create-index request.
    pub settings: Json,
    /// `mappings` of the create-index request.
    pub mappings: Json,
    /// Fields left out of `properties`, as dotted paths (`items.extra`), each with the reason.
    pub unmapped: Vec<(String, String)>,
}

impl IndexBody {
    /// The whole create-index request body: `{"settings": ..., "mappings": ...}`.
    pub fn body(&self) -> Json {
        json!({ "settings": self.settings, "mappings": self.mappings })
    }
}

/// The index bodies of every top-level list, in file order.
pub fn index_bodies(c: &CompiledPipeline) -> Vec<IndexBody> {
    c.model.top_lists().map(|l| index_body(c, l.id)).collect()
}

/// The index body of top-level list `list`.
pub fn index_body(c: &CompiledPipeline, list: ListId) -> IndexBody {
    let l = &c.model.lists[list];
    let fields = list_fields(c, list);
    let mut unmapped = Vec::new();
    let properties = properties(&fields, "", &mut unmapped);
    let mappings = json!({
        // `false` rather than `strict`: a field mee cannot type in advance (an `executeSQL`
        // whose result is known only at run time) is still stored in `_source` and returned with
        // every hit, while `strict` would reject the whole document and `true` would let the first
        // document decide the field's type forever.
        "dynamic": false,
        // Records which pipeline built the index, so an operator looking at a live index can
        // find its source without guessing from the name.
        "_meta": {
            "generated_by": "mee",
            "pipeline": c.model.name,
            "alias": l.alias.value,
            "type": l.es_type.value,
        },
        "properties": properties,
    });
    IndexBody {
        list,
        alias: l.alias.value.clone(),
        es_type: l.es_type.value.clone(),
        // Shard and replica counts are deployment choices, and the runtime adjusts replicas and the
        // refresh interval around a bulk load; the pipeline itself needs no index settings.
        settings: json!({}),
        mappings,
        unmapped,
    }
}

fn properties(fields: &[Field], prefix: &str, unmapped: &mut Vec<(String, String)>) -> Json {
    let mut props = Map::new();
    for f in fields {
        let path = format!("{prefix}{}", f.es_field);
        match field_mapping(&f.ty) {
            Ok(Some(m)) => {
                props.insert(f.es_field.clone(), m);
            }
            Ok(None) => {
                let FieldType::Nested { fields, .. } = &f.ty else {
                    continue;
                };
                let inner = properties(fields, &format!("{path}."), unmapped);
                props.insert(
                    f.es_field.clone(),
                    json!({ "type": "nested", "properties": inner }),
                );
            }
            Err(reason) => unmapped.push((path, reason)),
        }
    }
    Json::Object(props)
}

/// The mapping of one non-nested field: `Ok(Some(..))` for a typed field, `Ok(None)` for a nested
/// array (its properties are built by the caller), `Err(reason)` for a field left to `_source`.
pub fn field_mapping(ty: &FieldType) -> Result<Option<Json>, String> {
    Ok(Some(match ty {
        FieldType::Column(ty) => match ty.es_type() {
            Some(es) => es.mapping(),
            None => return Err(format!("`{ty}` has no Elasticsearch type")),
        },
        FieldType::Number(NumKind::Integer) | FieldType::Number(NumKind::Decimal { scale: 0 }) => {
            EsType::Long.mapping()
        }
        FieldType::Number(NumKind::Decimal { scale }) if *scale <= MAX_SCALED_FLOAT_SCALE => {
            EsType::ScaledFloat {
                scaling_factor: 10u64.pow(u32::from(*scale)),
            }
            .mapping()
        }
        FieldType::Number(NumKind::Decimal { .. }) | FieldType::Number(NumKind::Float) => {
            EsType::Double.mapping()
        }
        FieldType::Bool => json!({ "type": "boolean" }),
        // A constant string is matched exactly, like the `CHAR`/`VARCHAR` columns.
        FieldType::Text => EsType::Keyword.mapping(),
        // `yesterday` keeps the fraction of its argument, so the format must accept one.
        FieldType::DateTime => EsType::Date {
            format: ES_DATE_FORMAT_FRACTION,
        }
        .mapping(),
        FieldType::Nested { .. } => return Ok(None),
        FieldType::Null => return Err("always null, so there is nothing to index".to_string()),
        FieldType::Structured => {
            return Err("a constant list or object; kept in `_source` only".to_string());
        }
        FieldType::Dynamic { reason } => {
            return Err(format!(
                "its type is known only at run time ({reason}); kept in `_source`, not searchable"
            ));
        }
    }))
}

#[cfg(test)]
pub(crate) mod tests;
