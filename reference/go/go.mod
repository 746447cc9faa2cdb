module talki-endpoint

go 1.19
