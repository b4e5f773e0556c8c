//! How a storebench document lives in Automerge: its bytes under the root key `data`.

use automerge::{AutoCommit, ReadDoc, ScalarValue, Value};

use crate::{Error, Result};

/// The root key holding a document's bytes.
pub(crate) const DATA_KEY: &str = "data";

/// The document's bytes, or an error naming it when it has none.
pub(crate) fn data(doc: &AutoCommit, collection: &str, id: &str) -> Result<Vec<u8>> {
    let corrupt = |detail: String| Error::Corrupt {
        collection: collection.to_owned(),
        id: id.to_owned(),
        detail,
        source: None,
    };
    match doc.get(automerge::ROOT, DATA_KEY) {
        Ok(Some((Value::Scalar(scalar), _))) => match scalar.as_ref() {
            ScalarValue::Bytes(bytes) => Ok(bytes.clone()),
            other => Err(corrupt(format!(
                "its `{DATA_KEY}` key holds {other:?}, not bytes"
            ))),
        },
        Ok(Some((other, _))) => Err(corrupt(format!(
            "its `{DATA_KEY}` key holds an object {other:?}"
        ))),
        Ok(None) => Err(corrupt(format!("it has no `{DATA_KEY}` key"))),
        Err(source) => Err(Error::Corrupt {
            collection: collection.to_owned(),
            id: id.to_owned(),
            detail: format!("its `{DATA_KEY}` key cannot be read"),
            source: Some(Box::new(source)),
        }),
    }
}

/// The ops whose values stand under `data`, or `None` when Automerge cannot read the key.
pub(crate) fn value_ops(doc: &AutoCommit) -> Option<Vec<automerge::legacy::OpId>> {
    let values = doc.get_all(automerge::ROOT, DATA_KEY).ok()?;
    values
        .into_iter()
        .map(|(_, id)| match id {
            automerge::ObjId::Id(counter, actor, _) => {
                Some(automerge::legacy::OpId(counter, actor))
            }
            automerge::ObjId::Root => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::DATA_KEY;
    use crate::Refusal;

    /// A refused change of another shape names the key a document keeps its bytes under;
    /// `Refusal` lives with the errors, which import nothing of the backend, so it spells it.
    #[test]
    fn a_shape_refusal_names_the_data_key() {
        let refusal = Refusal::Shape {
            detail: "sets a list".into(),
        };
        assert!(refusal.to_string().contains(&format!("`{DATA_KEY}`")));
    }
}
