#!/bin/bash
# Run by the ClickHouse image at its first start (an empty data volume), as
# the administrator CLICKHOUSE_USER: creates the database and the read-only
# account Grafana uses. readonly = 2 refuses writes and DDL but lets the
# ClickHouse plugin set query settings (readonly = 1 would refuse those), and
# SELECT is granted on the tagpulse database only. The check service has
# refused passwords with quotes, so the password can be quoted in SQL.
set -euo pipefail
clickhouse client --user "$CLICKHOUSE_USER" --password "$CLICKHOUSE_PASSWORD" --multiquery <<SQL
CREATE DATABASE IF NOT EXISTS \`${CLICKHOUSE_DB}\`;
CREATE USER IF NOT EXISTS \`${CLICKHOUSE_GRAFANA_USER}\`
    IDENTIFIED WITH sha256_password BY '${CLICKHOUSE_GRAFANA_PASSWORD}'
    SETTINGS readonly = 2;
GRANT SELECT ON \`${CLICKHOUSE_DB}\`.* TO \`${CLICKHOUSE_GRAFANA_USER}\`;
SQL
