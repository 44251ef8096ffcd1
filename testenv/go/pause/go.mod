module binlog-archiver.dev/testenv/pause

go 1.24.0
