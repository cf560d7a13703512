//! Empty on purpose: this crate only turns dependency features on (see its `Cargo.toml`), so
//! that `cargo test --workspace`, `./demo.sh` and `cargo run --bin plr` compile each dependency
//! once, with one feature set, into one shared `target/`.
