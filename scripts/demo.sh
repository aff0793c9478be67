#!/usr/bin/env bash
# The main job end to end on this machine: starts the services, loads the sample `shop`/`crm`
# data, builds mee with the `orders` pipeline, fills the `orders` index from a consistent MySQL
# snapshot (`mee update orders`) and shows a document.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
scripts/services.sh start
scripts/load-sample.sh --orders "${MEE_DEMO_ORDERS:-1000}"

echo "[demo] building mee with the orders pipeline" >&2
cargo build --quiet --features pipeline-orders
MEE=target/debug/mee
[ -z "${CARGO_TARGET_DIR:-}" ] || MEE="$CARGO_TARGET_DIR/debug/mee"

"$MEE" check pipelines/orders.yml
"$MEE" update orders

ES=http://127.0.0.1:${MEE_ES_PORT:-19200}
echo
echo "Order 42 as the index holds it (curl -s '$ES/orders/_doc/42?pretty'):"
curl -s "$ES/orders/_doc/42?pretty"
echo
echo "Gold-tier customers' orders over 1000 EUR:"
curl -s "$ES/orders/_count?pretty" -H 'content-type: application/json' -d '{
  "query": {"bool": {"filter": [{"term": {"customer_tier": "gold"}}, {"range": {"amount": {"gt": 1000}}}]}}}'
cat <<MSG

What else to try:
  $MEE docs orders          # what the pipeline indexes, from where, and which changes touch what
  $MEE expand orders        # the Rust generated from pipelines/orders.yml
  $MEE update orders        # a new generation, swapped in atomically
MSG
