#!/usr/bin/env bash
# The main job end to end on this machine: starts the services, loads the sample `shop`/`crm`
# data, builds mee with the `orders` pipeline, fills the `orders` index from a consistent MySQL
# snapshot (`mee update orders`), starts `mee run orders`, changes rows live and shows the documents
# once the index has caught up, with two example queries.
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

# The embedded sync: follows the binlog and keeps the index equal to MySQL.
"$MEE" run orders > var/log/mee-run.log 2>&1 &
RUN_PID=$!
trap 'kill -TERM $RUN_PID 2>/dev/null || true' EXIT
echo "[demo] mee run orders is following the binlog (log: var/log/mee-run.log); changing data live:" >&2
sql() { mariadb --no-defaults --protocol=tcp -h127.0.0.1 -P"${MEE_MYSQL_PORT:-13306}" -umee_admin -pmee_admin "$@"; }
sql -e "UPDATE shop.orders SET status = 3, note = 'delivered' WHERE id = 42;
        UPDATE crm.customers SET name = 'Ada Lovelace', tier = 'platinum' WHERE id = 199;
        INSERT INTO shop.order_items (order_id, sku, title, quantity, unit_price) VALUES (42, 'SKU-NEW', 'Gift wrap', 1, 2.50);
        DELETE FROM shop.orders WHERE id = 43;"
echo "  order 42: status 3, note 'delivered', one more item; customer 199 renamed (all its orders change); order 43 deleted" >&2
ES_URL=http://127.0.0.1:${MEE_ES_PORT:-19200}
deadline=$((SECONDS + 30))
until curl -s "$ES_URL/orders/_doc/42" | grep -q '"customer_name":"Ada Lovelace"' &&
  curl -s -o /dev/null -w '%{http_code}' "$ES_URL/orders/_doc/43" | grep -q 404; do
  ((SECONDS < deadline)) || { echo "[demo] the changes did not arrive within 30s; see var/log/mee-run.log" >&2; exit 1; }
  sleep 0.2
done
echo "[demo] the index caught up with the changes" >&2

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
  $MEE run orders           # follow the binlog (the demo's follower stops when this script ends)
MSG
