module github.com/revisit-crawl/revisit

go 1.26.0

require (
	github.com/PuerkitoBio/goquery v1.11.0
	github.com/andybalholm/brotli v1.0.6
	github.com/andybalholm/cascadia v1.3.3
	github.com/klauspost/compress v1.17.4
	github.com/redis/go-redis/v9 v9.23.0
	github.com/refraction-networking/utls v1.8.2
	go.etcd.io/bbolt v1.4.3
	golang.org/x/net v0.47.0
	golang.org/x/sync v0.19.0
)

require (
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	go.uber.org/atomic v1.12.0 // indirect
	golang.org/x/crypto v0.44.0 // indirect
	golang.org/x/sys v0.48.0 // indirect
	golang.org/x/text v0.31.0 // indirect
)
