//! The semantics every backend shares: isolation, ordering, missing ids, persistence of
//! collections, with hostile names and ids.

use crate::common;

use common::{Kind, assert_verified, db_path, state};
use storebench::Result;

fn hostile_names() -> Vec<String> {
    vec![
        String::new(),
        "a".into(),
        "a:b".into(),
        "a/b".into(),
        "a\0b".into(),
        "a\0".into(),
        "é€𝄞".into(),
        "x".repeat(10 * 1024),
    ]
}

#[test]
fn collections_with_hostile_names_never_share_documents() -> Result<()> {
    for kind in Kind::all() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = db_path(&dir, kind.name());
        let opened = kind.open(&path)?;
        let store = opened.store();
        for name in hostile_names() {
            let c = store.collection(&name);
            for id in hostile_names() {
                c.upsert(&id, format!("{name}|{id}").into_bytes())?;
            }
        }
        let check = |store: &dyn storebench::StorageBackend| -> Result<()> {
            let mut expected = hostile_names();
            expected.sort();
            assert_eq!(store.list_collections(), expected, "{}", kind.name());
            for name in hostile_names() {
                let c = store.collection(&name);
                assert_eq!(c.name(), name, "{}", kind.name());
                assert_eq!(
                    c.count()?,
                    hostile_names().len(),
                    "{} {name:?}",
                    kind.name()
                );
                for (id, data) in c.scan()? {
                    assert_eq!(data, format!("{name}|{id}").into_bytes(), "{}", kind.name());
                }
                let mut ids: Vec<String> = c.scan()?.into_iter().map(|(id, _)| id).collect();
                let mut want = hostile_names();
                want.sort();
                assert_eq!(ids, want);
                ids.retain(|id| id.starts_with('a'));
                let prefixed: Vec<String> =
                    c.scan_prefix("a")?.into_iter().map(|(i, _)| i).collect();
                assert_eq!(prefixed, ids, "{} scan_prefix in {name:?}", kind.name());
            }
            Ok(())
        };
        check(store)?;
        if kind.persists() {
            opened.close()?;
            let reopened = kind.open(&path)?;
            check(reopened.store())?;
            assert_verified(&reopened)?;
        }
    }
    Ok(())
}

#[test]
fn reads_follow_the_id_order_and_missing_ids_are_not_errors() -> Result<()> {
    for kind in Kind::all() {
        let dir = tempfile::tempdir().expect("temp dir");
        let opened = kind.open(&db_path(&dir, kind.name()))?;
        let c = opened.store().collection("docs");
        c.delete("never-written")?;
        assert_eq!(c.get("never-written")?, None);
        c.upsert_many(vec![
            ("b".into(), b"1".to_vec()),
            ("a".into(), b"22".to_vec()),
            ("b".into(), b"333".to_vec()),
            ("ab".into(), b"4444".to_vec()),
            ("\u{7f}".into(), b"5".to_vec()),
            ("é".into(), b"6".to_vec()),
        ])?;
        let ids =
            |docs: Vec<(String, Vec<u8>)>| docs.into_iter().map(|(i, _)| i).collect::<Vec<_>>();
        assert_eq!(
            ids(c.scan()?),
            ["a", "ab", "b", "\u{7f}", "é"],
            "{}",
            kind.name()
        );
        assert_eq!(
            c.get("b")?,
            Some(b"333".to_vec()),
            "later value in a batch wins"
        );
        assert_eq!(ids(c.scan_range("aa", 2)?), ["ab", "b"]);
        assert_eq!(ids(c.scan_range("", 0)?), Vec::<String>::new());
        assert_eq!(
            ids(c.scan_range("zz", 5)?),
            ["\u{7f}", "é"],
            "byte order, not char class"
        );
        assert_eq!(ids(c.scan_range("\u{80}", 5)?), ["é"]);
        assert_eq!(ids(c.find(Box::new(|d| d.len() >= 3))?), ["ab", "b"]);
        assert_eq!(c.count()?, 5);
        c.delete("a")?;
        c.delete("a")?;
        assert_eq!(c.count()?, 4);
        assert_eq!(c.get("a")?, None);
        c.upsert("a", Vec::new())?;
        assert_eq!(c.get("a")?, Some(Vec::new()), "an empty value is a value");
        assert_eq!(c.count()?, 5);
        assert_verified(&opened)?;
    }
    Ok(())
}

#[test]
fn an_empty_collection_survives_a_flush_and_reopen() -> Result<()> {
    for kind in Kind::persistent() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = db_path(&dir, kind.name());
        let opened = kind.open(&path)?;
        opened.store().collection("empty");
        opened
            .store()
            .collection("full")
            .upsert("x", b"y".to_vec())?;
        opened.store().flush()?;
        drop(opened);
        let reopened = kind.open(&path)?;
        assert_eq!(
            reopened.store().list_collections(),
            ["empty", "full"],
            "{}",
            kind.name()
        );
        assert_eq!(
            state(reopened.store())?[1].1,
            [("x".to_owned(), b"y".to_vec())]
        );
        assert_verified(&reopened)?;
    }
    Ok(())
}
