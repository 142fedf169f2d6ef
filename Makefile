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

# Load figures (README "Benchmarks"), release build: RS256 grants and OIDC sign-ins with
# the gateway in the driver's process, on SQLite and on a throwaway redis-server; then,
# against `poolgate serve` processes (gateway CPU per operation from /proc), ES256 and
# EdDSA grants, OIDC sign-ins without and with a pre-token V2 hook, native users'
# password (Argon2id) and SRP sign-ins, refresh grants alone and beside password
# hashing, SAML sign-ins over HTTP, each again at half its peak rate (p50/p99), and two
# instances pinned with
# taskset (one core each) against one on Redis. LOADGEN_N=3000 operations per phase;
# LOADGEN_PART=inprocess|process runs one part; LOADGEN_STORES=sqlite skips Redis.
bench:
	scripts/setup.sh --test
	cargo build --release --bin poolgate --example loadgen
	"$${CARGO_TARGET_DIR:-target}/release/examples/loadgen"

lint:
	cargo fmt --all -- --check
	cargo clippy --all-targets -- -D warnings
