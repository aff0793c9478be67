#!/usr/bin/env bash
# The main job end to end on the embedded default, on this machine: starts the services, loads the
# sample `shop`/`crm` data and shows what is there.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
scripts/services.sh start
scripts/load-sample.sh --orders "${MEE_DEMO_ORDERS:-1000}"
cat <<'MSG'

Services are up and the sample `orders` source data is loaded:
  MariaDB  mysql://mee_admin:mee_admin@127.0.0.1:13306  (databases shop, crm)
  osmem    http://127.0.0.1:19200
Look at the pipeline that will index it: pipelines/orders.yml
MSG
