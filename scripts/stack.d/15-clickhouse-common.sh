# scripts/stack.d/15-clickhouse-common.sh — pieces of configuration and
# start-up shared by the ClickHouse services (clickhouse, clickhouse26 and
# the cluster profile's cch1-4); sourced by scripts/stack before them. It
# defines no service.

# ch_xml_listen DIR TCP_PORT HTTP_PORT: the <logger> section (logs under
# DIR/logs) and the loopback listeners of a server's config.xml.
ch_xml_listen() {
  local dir=$1 tcp=$2 http=$3
  cat <<XML
    <logger>
        <level>information</level>
        <log>$dir/logs/clickhouse-server.log</log>
        <errorlog>$dir/logs/clickhouse-server.err.log</errorlog>
        <size>100M</size>
        <count>3</count>
    </logger>
    <listen_host>127.0.0.1</listen_host>
    <tcp_port>$tcp</tcp_port>
    <http_port>$http</http_port>
XML
}

# ch_xml_server DIR MAX_CONNECTIONS UNCOMPRESSED_CACHE MARK_CACHE: the limits,
# caches, paths (under DIR, users.xml beside config.xml) and session
# settings of an 18.16 server's config.xml.
ch_xml_server() {
  local dir=$1 conns=$2 uncompressed=$3 mark=$4
  cat <<XML
    <max_connections>$conns</max_connections>
    <keep_alive_timeout>3</keep_alive_timeout>
    <max_concurrent_queries>100</max_concurrent_queries>
    <uncompressed_cache_size>$uncompressed</uncompressed_cache_size>
    <mark_cache_size>$mark</mark_cache_size>
    <path>$dir/data/</path>
    <tmp_path>$dir/tmp/</tmp_path>
    <user_files_path>$dir/user_files/</user_files_path>
    <format_schema_path>$dir/format_schemas/</format_schema_path>
    <users_config>$dir/users.xml</users_config>
    <default_profile>default</default_profile>
    <default_database>default</default_database>
    <timezone>UTC</timezone>
    <mlock_executable>false</mlock_executable>
    <builtin_dictionaries_reload_interval>3600</builtin_dictionaries_reload_interval>
    <max_session_timeout>3600</max_session_timeout>
    <default_session_timeout>60</default_session_timeout>
XML
}

# ch_launch SERVICE COMMAND...: launch_supervised with the open-file limit
# raised (ClickHouse wants many open files) for that process only.
ch_launch() {
  (
    ulimit -n 262144 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
    launch_supervised "$@"
  )
}
