{
  "targets": [
    {
      "target_name": "airlock_audit_scan",
      "sources": ["audit-scan.c"],
      "include_dirs": ["../node_modules/better-sqlite3/deps/sqlite3", "../../better-sqlite3/deps/sqlite3"],
      "cflags": ["-O2", "-std=c11", "-Wall", "-Wextra"]
    }
  ]
}
