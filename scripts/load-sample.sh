#!/usr/bin/env bash
# Creates the `shop` and `crm` databases from pipelines/schema/*.sql and fills them with a
# deterministic sample: N orders (default 1000), ~5 items each (3 to 7), N/5 customers.
#
# Usage: scripts/load-sample.sh [--orders N] [--prefix P]
#   --prefix P   create P_shop and P_crm instead (tests and benchmarks use their own names)
set -euo pipefail
cd "$(dirname "$0")/.."

ORDERS=1000
PREFIX=""
while [ $# -gt 0 ]; do
  case $1 in
  --orders) ORDERS=$2; shift 2 ;;
  --prefix) PREFIX="${2}_"; shift 2 ;;
  *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done
CUSTOMERS=$(( ORDERS / 5 > 0 ? ORDERS / 5 : 1 ))
SHOP="${PREFIX}shop"
CRM="${PREFIX}crm"
PORT=${MEE_MYSQL_PORT:-13306}
sql() { mariadb --no-defaults --protocol=tcp -h127.0.0.1 -P"$PORT" -umee_admin -pmee_admin "$@"; }

echo "[sample] loading $ORDERS orders and $CUSTOMERS customers into $SHOP and $CRM" >&2
for db in "$SHOP" "$CRM"; do
  sql -e "DROP DATABASE IF EXISTS \`$db\`; CREATE DATABASE \`$db\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
done
sql "$SHOP" <pipelines/schema/shop.sql
sql "$CRM" <pipelines/schema/crm.sql

# MariaDB's built-in SEQUENCE engine (seq_1_to_N) generates the rows server-side; large loads go
# in chunks of 100k orders so no single transaction grows too big. The load is kept out of the
# binlog (sql_log_bin = 0): a full update reads it from a snapshot, and a million-row load would
# otherwise be replayed by every follower that starts from an older position.
sql "$CRM" -e "
SET SESSION sql_log_bin = 0;
INSERT INTO customers (id, name, email, tier, country)
SELECT seq, CONCAT('Customer ', seq),
       IF(seq % 7 = 0, NULL, CONCAT('customer', seq, '@example.com')),
       ELT(1 + seq % 3, 'standard', 'gold', 'platinum'),
       IF(seq % 11 = 0, NULL, ELT(1 + seq % 4, 'DE', 'FR', 'NL', 'PL'))
FROM seq_1_to_${CUSTOMERS};"

chunk=100000
for ((start = 1; start <= ORDERS; start += chunk)); do
  end=$(( start + chunk - 1 < ORDERS ? start + chunk - 1 : ORDERS ))
  sql "$SHOP" -e "
SET SESSION sql_log_bin = 0;
INSERT INTO orders (id, order_no, customer_id, status, amount, currency, note, deleted, create_time, modify_time)
SELECT seq, CONCAT('ORD-', LPAD(seq, 9, '0')), 1 + (seq * 7919) % ${CUSTOMERS}, seq % 4,
       ROUND((seq % 1000) * 1.37 + 5, 2), 'EUR', IF(seq % 5 = 0, CONCAT('note ', seq), NULL),
       IF(seq % 97 = 0, 1, 0),
       TIMESTAMP('2021-01-01') + INTERVAL (seq % 700) DAY + INTERVAL (seq % 86400) SECOND,
       TIMESTAMP('2023-01-01') + INTERVAL (seq % 86400) SECOND
FROM seq_${start}_to_${end};
INSERT INTO order_items (order_id, sku, title, quantity, unit_price, modify_time)
SELECT o.seq, CONCAT('SKU-', (o.seq * 31 + i.seq) % 5000), CONCAT('Item ', i.seq, ' of order ', o.seq),
       1 + (o.seq + i.seq) % 5, ROUND(((o.seq + i.seq) % 200) * 0.99 + 1, 2),
       TIMESTAMP('2023-01-01') + INTERVAL (o.seq % 86400) SECOND
FROM seq_${start}_to_${end} o JOIN seq_1_to_7 i ON i.seq <= 3 + o.seq % 5
ORDER BY o.seq, i.seq;"
done
sql "$SHOP" -e "SELECT (SELECT COUNT(*) FROM orders) AS orders, (SELECT COUNT(*) FROM order_items) AS order_items, (SELECT COUNT(*) FROM \`$CRM\`.customers) AS customers"
