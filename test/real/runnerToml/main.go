// runner-toml: a model of GitLab Runner's config.toml load and save, for tests, while the real
// gitlab-runner cannot be built here (see test/host/README.md, "The real runner: blocked").
//
// It uses what the runner itself uses for config.toml, BurntSushi/toml (v1.6.0, as the runner's
// go.mod of 18.11 and later), on a Go struct made at run time from the key list the project keeps
// (test/fixtures/runner-config/known-keys-detailed.json: every table, key and TOML type of the
// runner's config structs). Every key is a pointer, so an absent key stays absent on save.
//
//	runner-toml load KEYS.json FILE      what the runner's (re)load decides from FILE's text: prints
//	                                     "Configuration loaded", or the error the runner logs after
//	                                     "Failed to load config" and exits 1 (unknown keys are ignored)
//	runner-toml check KEYS.json FILE     `gitlab-runner lint`: the load, then unknown keys; exit 1 on
//	                                     either (lint's texts), else "Configuration file is valid."
//	runner-toml save KEYS.json FILE NAME=TOKEN...
//	                                     what SaveConfig does after a token rotation: decode, set the
//	                                     named runners' token, token_obtained_at and token_expires_at,
//	                                     encode the whole document anew (comments gone, keys in
//	                                     struct order) and write it in place with os.WriteFile.
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"strings"
	"time"
	"unicode"

	"github.com/BurntSushi/toml"
	"github.com/gorhill/cronexpr"
)

type key struct {
	name, goType, tomlType string
}

// readTables keeps the keys in file order (the order of the runner's struct fields).
func readTables(path string) (map[string][]key, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var doc struct {
		Tables json.RawMessage `json:"tables"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(doc.Tables))
	tables := map[string][]key{}
	if _, err := dec.Token(); err != nil { // {
		return nil, err
	}
	for dec.More() {
		t, _ := dec.Token()
		table := t.(string)
		if _, err := dec.Token(); err != nil { // {
			return nil, err
		}
		for dec.More() {
			k, _ := dec.Token()
			var v struct {
				GoType   string `json:"go_type"`
				TomlType string `json:"toml_type"`
			}
			if err := dec.Decode(&v); err != nil {
				return nil, err
			}
			tables[table] = append(tables[table], key{k.(string), v.GoType, v.TomlType})
		}
		if _, err := dec.Token(); err != nil { // }
			return nil, err
		}
	}
	return tables, nil
}

var anyType = reflect.TypeOf((*interface{})(nil)).Elem()

func fieldName(i int, k string) string {
	var b strings.Builder
	b.WriteString(fmt.Sprintf("F%d_", i))
	for _, r := range k {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(r)
		} else {
			b.WriteRune('_')
		}
	}
	return b.String()
}

// structOf builds the Go struct of one table; `path` is its name in the key list.
func structOf(tables map[string][]key, path string) reflect.Type {
	var fields []reflect.StructField
	for i, k := range tables[path] {
		t := typeOf(tables, path, k)
		if t == nil {
			continue
		}
		fields = append(fields, reflect.StructField{
			Name: fieldName(i, k.name),
			Type: t,
			Tag:  reflect.StructTag(fmt.Sprintf(`toml:"%s,omitempty"`, k.name)),
		})
	}
	return reflect.StructOf(fields)
}

func typeOf(tables map[string][]key, parent string, k key) reflect.Type {
	sub := k.name
	if parent != "global" {
		sub = parent + "." + k.name
	}
	_, isTable := tables[sub]
	tt := k.tomlType
	switch {
	case tt == "":
		return nil // listed as removed: the runner has no such field
	case tt == "string":
		return reflect.TypeOf((*string)(nil))
	case tt == "integer":
		return reflect.TypeOf((*int64)(nil))
	case tt == "boolean":
		return reflect.TypeOf((*bool)(nil))
	case tt == "float":
		return reflect.TypeOf((*float64)(nil))
	case tt == "duration-string":
		return reflect.TypeOf((*time.Duration)(nil))
	case tt == "offset-datetime":
		return reflect.TypeOf((*time.Time)(nil))
	case tt == "array<string>":
		return reflect.TypeOf([]string(nil))
	case tt == "array<float>":
		return reflect.TypeOf([]float64(nil))
	case tt == "table<string>":
		return reflect.TypeOf(map[string]string(nil))
	case tt == "table<boolean>":
		return reflect.TypeOf(map[string]bool(nil))
	case tt == "table<array<string>>":
		return reflect.TypeOf(map[string][]string(nil))
	case tt == "array-of-tables" && isTable:
		return reflect.SliceOf(reflect.PointerTo(structOf(tables, sub)))
	case tt == "array-of-tables":
		return reflect.TypeOf([]map[string]interface{}(nil))
	case tt == "table" && isTable:
		return reflect.PointerTo(structOf(tables, sub))
	case strings.HasPrefix(tt, "table"):
		// A table whose keys the list does not enumerate (other executors, free-form maps).
		return reflect.TypeOf(map[string]interface{}(nil))
	default:
		return anyType // "string | array<string>"
	}
}

// load is the runner's LoadConfig as far as config.toml's text decides it: the decoding, then each
// runner's [[runners.machine.autoscaling]] periods and timezone compiled as the runner does
// (gorhill/cronexpr, time.LoadLocation). Its error texts are the runner's.
func load(cfg reflect.Value, file string) (toml.MetaData, error) {
	meta, err := toml.DecodeFile(file, cfg.Interface())
	if err != nil {
		return meta, fmt.Errorf("decoding configuration file: %w", err)
	}
	runners := field(cfg.Elem(), "runners")
	for i := 0; i < runners.Len(); i++ {
		r := runners.Index(i).Elem()
		name := ""
		if n := field(r, "name"); !n.IsNil() {
			name = n.Elem().String()
		}
		m := field(r, "machine")
		if m.IsNil() {
			continue
		}
		entries := field(m.Elem(), "autoscaling")
		for j := 0; j < entries.Len(); j++ {
			a := entries.Index(j).Elem()
			periods := field(a, "Periods").Interface().([]string)
			tz := ""
			if t := field(a, "Timezone"); !t.IsNil() {
				tz = t.Elem().String()
			}
			if err := compilePeriods(periods, tz); err != nil {
				return meta, fmt.Errorf("loading configuration for %s runner: compiling docker machine autoscaling periods: %w",
					name, fmt.Errorf("invalid time periods %v, caused by: %v", periods, err))
			}
		}
	}
	return meta, nil
}

func compilePeriods(periods []string, timezone string) error {
	for _, p := range periods {
		if _, err := cronexpr.Parse(p); err != nil {
			return err
		}
	}
	if timezone == "" {
		timezone = "Local" // as the runner: empty means the system's zone
	}
	_, err := time.LoadLocation(timezone)
	return err
}

// check is `gitlab-runner lint`: the load, then the keys BurntSushi could not place. Keys of the
// free-form tables (map[string]interface{}) are decoded, not reported, as in the runner.
func check(cfg reflect.Value, file string) error {
	meta, err := load(cfg, file)
	if err != nil {
		return fmt.Errorf("decoding config: %w", err)
	}
	if u := meta.Undecoded(); len(u) > 0 {
		msgs := make([]string, 0, len(u))
		for _, k := range u {
			msgs = append(msgs, "  unknown key: "+k.String())
		}
		return fmt.Errorf("%d unknown key(s) found in %s:\n%s", len(u), file, strings.Join(msgs, "\n"))
	}
	return nil
}

func field(v reflect.Value, tomlKey string) reflect.Value {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		if strings.Split(t.Field(i).Tag.Get("toml"), ",")[0] == tomlKey {
			return v.Field(i)
		}
	}
	panic("no field " + tomlKey)
}

func main() {
	if len(os.Args) < 4 || (os.Args[1] != "check" && os.Args[1] != "load" && os.Args[1] != "save") {
		fmt.Fprintln(os.Stderr, "usage: runner-toml check|load|save KEYS.json FILE [NAME=TOKEN...]")
		os.Exit(2)
	}
	tables, err := readTables(os.Args[2])
	if err != nil {
		fmt.Fprintln(os.Stderr, "reading the key list:", err)
		os.Exit(2)
	}
	file := os.Args[3]
	cfg := reflect.New(structOf(tables, "global"))
	if os.Args[1] == "load" {
		if _, err := load(cfg, file); err != nil {
			fmt.Println(err)
			os.Exit(1)
		}
		fmt.Println("Configuration loaded")
		return
	}
	if err := check(cfg, file); err != nil {
		fmt.Fprintln(os.Stderr, "FATAL:", err)
		os.Exit(1)
	}
	if os.Args[1] == "check" {
		fmt.Println("Configuration file is valid.")
		return
	}
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	expires := now.Add(90 * 24 * time.Hour)
	runners := field(cfg.Elem(), "runners")
	for _, arg := range os.Args[4:] {
		name, token, ok := strings.Cut(arg, "=")
		found := false
		for i := 0; ok && i < runners.Len(); i++ {
			r := runners.Index(i).Elem()
			if n := field(r, "name"); n.IsNil() || n.Elem().String() != name {
				continue
			}
			found = true
			field(r, "token").Set(reflect.ValueOf(&token))
			field(r, "token_obtained_at").Set(reflect.ValueOf(&now))
			field(r, "token_expires_at").Set(reflect.ValueOf(&expires))
		}
		if !found {
			fmt.Fprintln(os.Stderr, "no runner named", name)
			os.Exit(1)
		}
	}
	var out bytes.Buffer
	if err := toml.NewEncoder(&out).Encode(cfg.Interface()); err != nil {
		fmt.Fprintln(os.Stderr, "Error encoding TOML:", err)
		os.Exit(1)
	}
	if err := os.WriteFile(file, out.Bytes(), 0o600); err != nil {
		fmt.Fprintln(os.Stderr, "saving the file:", err)
		os.Exit(1)
	}
	fmt.Println("Updated")
}
