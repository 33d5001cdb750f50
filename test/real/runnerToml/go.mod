module gra.invalid/runner-toml

go 1.26

require (
	github.com/BurntSushi/toml v1.6.0
	github.com/gorhill/cronexpr v0.0.0-20180427100037-88b0669f7d75
)
