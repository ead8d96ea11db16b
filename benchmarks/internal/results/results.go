// Package results is the format benchmark programs write their figures
// in, and the report that turns them into benchmarks/README.md reads: one
// table per JSON file, with the command that made it.
package results

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
)

// Table is one table of results. It is not safe for concurrent use.
type Table struct {
	// Name identifies the table in the report template, for example
	// "handshake-go".
	Name string `json:"name"`
	// Title is a one-line heading; Command the command line that made
	// the table.
	Title   string `json:"title"`
	Command string `json:"command"`
	// Columns are the headings; each row has one cell per column.
	Columns []string   `json:"columns"`
	Rows    [][]string `json:"rows"`
	// Notes are sentences printed under the table.
	Notes []string `json:"notes,omitempty"`
	// Values are named figures the report can quote in prose, for
	// example "resumed_cpu_ratio": "0.83".
	Values map[string]string `json:"values,omitempty"`
}

// Add appends a row; cells are formatted with fmt's %v, floats with
// three significant digits.
func (t *Table) Add(cells ...any) {
	row := make([]string, len(cells))
	for i, c := range cells {
		switch v := c.(type) {
		case float64:
			row[i] = Float(v)
		default:
			row[i] = fmt.Sprint(v)
		}
	}
	t.Rows = append(t.Rows, row)
}

// Set records a named value.
func (t *Table) Set(name string, v any) {
	if t.Values == nil {
		t.Values = map[string]string{}
	}
	if f, ok := v.(float64); ok {
		t.Values[name] = Float(f)
		return
	}
	t.Values[name] = fmt.Sprint(v)
}

// Float formats v with three significant digits, or as a whole number
// when it is one, without exponent for the magnitudes benchmarks produce.
func Float(v float64) string {
	switch a := abs(v); {
	case a == 0:
		return "0"
	case a >= 100 || v == float64(int64(v)):
		return fmt.Sprintf("%.0f", v)
	case a >= 10:
		return fmt.Sprintf("%.1f", v)
	case a >= 1:
		return fmt.Sprintf("%.2f", v)
	default:
		return fmt.Sprintf("%.3g", v)
	}
}

func abs(v float64) float64 {
	if v < 0 {
		return -v
	}
	return v
}

// Write writes the table as JSON to path.
func (t *Table) Write(path string) error {
	b, err := json.MarshalIndent(t, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// Read reads a table written by Write.
func Read(path string) (*Table, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var t Table
	if err := json.Unmarshal(b, &t); err != nil {
		return nil, fmt.Errorf("results: %s: %w", path, err)
	}
	return &t, nil
}

// Markdown renders the table with its command and notes.
func (t *Table) Markdown() string {
	var b strings.Builder
	if t.Command != "" {
		fmt.Fprintf(&b, "```\n%s\n```\n\n", t.Command)
	}
	b.WriteString("| " + strings.Join(t.Columns, " | ") + " |\n")
	b.WriteString("|" + strings.Repeat("---|", len(t.Columns)) + "\n")
	for _, r := range t.Rows {
		cells := make([]string, len(r))
		for i, c := range r {
			cells[i] = strings.ReplaceAll(c, "|", "\\|")
		}
		b.WriteString("| " + strings.Join(cells, " | ") + " |\n")
	}
	for _, n := range t.Notes {
		b.WriteString("\n" + n + "\n")
	}
	return b.String()
}
