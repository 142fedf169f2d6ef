# The two commands of the README. Each installs what is missing first.
.PHONY: run test bench lint

run:
	scripts/setup.sh
	mkdir -p data
	cargo run --release --bin poolgate -- serve

# Every test: unit, integration (SQLite file, throwaway redis-server, fake upstream
# IdPs over loopback, TLS, headless Chromium). Tests start what they need themselves.
test:
	scripts/setup.sh --test
	cargo test --all-targets

bench:
	scripts/setup.sh --test
	cargo build --release --bin poolgate --example loadgen
	"$${CARGO_TARGET_DIR:-target}/release/examples/loadgen"

lint:
	cargo fmt --all -- --check
	cargo clippy --all-targets -- -D warnings
