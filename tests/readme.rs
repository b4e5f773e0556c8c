//! The README's "own backend" glue is the example's code, which `cargo test` compiles: the
//! README cannot drift from a working binding.

#[test]
fn the_readme_glue_is_the_examples_code() {
    let root = env!("CARGO_MANIFEST_DIR");
    let readme = std::fs::read_to_string(format!("{root}/README.md")).expect("README.md");
    let example = std::fs::read_to_string(format!("{root}/examples/own_backend/main.rs"))
        .expect("the example");
    let block = readme
        .split("<!-- own-backend-glue -->")
        .nth(1)
        .and_then(|rest| rest.split("<!-- /own-backend-glue -->").next())
        .expect("the marked block");
    let code: String = block
        .lines()
        .filter(|line| !line.starts_with("```"))
        .collect::<Vec<_>>()
        .join("\n");
    assert!(code.trim().lines().count() > 20, "the block holds the glue");
    assert!(
        example.contains(code.trim()),
        "README's glue differs from examples/own_backend/main.rs:\n{code}"
    );
}

/// Every fuzzing command the READMEs offer to copy starts from the committed seeds: `fuzz/run`
/// passes them, and a bare `cargo fuzz run <target>` would start from an empty corpus.
#[test]
fn the_readmes_fuzz_commands_start_from_the_seeds() {
    let root = env!("CARGO_MANIFEST_DIR");
    for file in ["README.md", "fuzz/README.md"] {
        let text = std::fs::read_to_string(format!("{root}/{file}")).expect(file);
        for line in text.lines() {
            let Some(at) = line.find("cargo fuzz run ") else {
                continue;
            };
            let command = &line[at..];
            // Reproducing one input (an artifact) needs no corpus.
            if command.contains("fuzz/artifacts/") {
                continue;
            }
            assert!(
                command.contains("seeds/"),
                "{file}: `{command}` starts from an empty corpus; use fuzz/run or name the seeds"
            );
        }
    }
}
