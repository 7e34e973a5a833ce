#!/usr/bin/env bash
# A 2-shard ClickHouse cluster on loopback, for tests, CI and trying the --clickhouse paths by hand.
#   scripts/clickhouse-cluster.sh start DIR   writes configs under DIR, starts two servers, prints the HTTP URL
#   scripts/clickhouse-cluster.sh stop DIR    stops them (by the PIDs recorded in DIR)
# The cluster is named two_shards; each node's http_port is also a macro, so that `gapkit load --create`
# can create every shard's local table without distributed DDL (which needs ZooKeeper).
# Ports: the first free pair of (HTTP, TCP, interserver) triples from CLICKHOUSE_PORT_BASE (default 18000).
set -euo pipefail
usage() { echo "usage: $0 start|stop DIR" >&2; exit 2; }
[ $# -eq 2 ] || usage
cmd=$1
dir=$(mkdir -p "$2" && cd "$2" && pwd)

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

stop() {
  for node in n1 n2; do
    pid_file="$dir/$node/pid"
    [ -f "$pid_file" ] || continue
    pid=$(cat "$pid_file")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    rm -f "$pid_file"
  done
}

write_config() { # node http tcp interserver shard tcp1 tcp2
  local node=$1 http=$2 tcp=$3 inter=$4 shard=$5
  mkdir -p "$dir/$node/data" "$dir/$node/tmp" "$dir/$node/user_files" "$dir/$node/format_schemas"
  cat >"$dir/$node/config.xml" <<XML
<yandex>
  <logger><level>warning</level><log>$dir/$node/server.log</log><errorlog>$dir/$node/error.log</errorlog></logger>
  <listen_host>127.0.0.1</listen_host>
  <http_port>$http</http_port>
  <tcp_port>$tcp</tcp_port>
  <interserver_http_port>$inter</interserver_http_port>
  <path>$dir/$node/data/</path>
  <tmp_path>$dir/$node/tmp/</tmp_path>
  <user_files_path>$dir/$node/user_files/</user_files_path>
  <format_schema_path>$dir/$node/format_schemas/</format_schema_path>
  <users_config>$dir/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <max_concurrent_queries>50</max_concurrent_queries>
  <mark_cache_size>268435456</mark_cache_size>
  <remote_servers>
    <two_shards>
      <shard><replica><host>127.0.0.1</host><port>$6</port></replica></shard>
      <shard><replica><host>127.0.0.1</host><port>$7</port></replica></shard>
    </two_shards>
  </remote_servers>
  <macros><shard>$shard</shard><http_port>$http</http_port></macros>
</yandex>
XML
}

start() {
  command -v clickhouse-server >/dev/null || { echo "clickhouse-server is not installed (apt-get install -y clickhouse-server)" >&2; exit 1; }
  stop
  local base=${CLICKHOUSE_PORT_BASE:-18000}
  while ! { port_free $((base + 123)) && port_free $((base + 1000)) && port_free $((base + 1009)) &&
            port_free $((base + 10123)) && port_free $((base + 11000)) && port_free $((base + 11009)); }; do
    base=$((base + 100))
    [ "$base" -lt 40000 ] || { echo "no free ports" >&2; exit 1; }
  done
  local http1=$((base + 123)) tcp1=$((base + 1000)) http2=$((base + 10123)) tcp2=$((base + 11000))
  cat >"$dir/users.xml" <<XML
<yandex>
  <profiles><default><max_memory_usage>4000000000</max_memory_usage></default></profiles>
  <users><default><password></password><networks><ip>127.0.0.1</ip><ip>::1</ip></networks><profile>default</profile><quota>default</quota></default></users>
  <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors><result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time></interval></default></quotas>
</yandex>
XML
  write_config n1 "$http1" "$tcp1" $((base + 1009)) 1 "$tcp1" "$tcp2"
  write_config n2 "$http2" "$tcp2" $((base + 11009)) 2 "$tcp1" "$tcp2"
  for node in n1 n2; do
    clickhouse-server --config-file="$dir/$node/config.xml" --pid-file="$dir/$node/pid" --daemon >"$dir/$node/stdout.log" 2>&1
  done
  for http in "$http1" "$http2"; do
    for _ in $(seq 1 100); do
      [ "$(curl -s "http://127.0.0.1:$http/ping" 2>/dev/null)" = "Ok." ] && break
      sleep 0.1
    done
    [ "$(curl -s "http://127.0.0.1:$http/ping" 2>/dev/null)" = "Ok." ] || { echo "a server did not start; see $dir/n*/error.log" >&2; stop; exit 1; }
  done
  echo "http://127.0.0.1:$http1"
}

case "$cmd" in
  start) start ;;
  stop) stop ;;
  *) usage ;;
esac
