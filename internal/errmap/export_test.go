package errmap

import (
	"slices"
	"strconv"
)

// TableKeys lists the rows of the table as "STATUS/OTA" and "STATUS"
// strings, for the test that every row has a recorded answer.
func TableKeys() []string {
	keys := make([]string, 0, len(apiRows)+len(statusRows))
	for k := range apiRows {
		keys = append(keys, strconv.Itoa(k.status)+"/"+k.ota)
	}
	for s := range statusRows {
		keys = append(keys, strconv.Itoa(s))
	}
	slices.Sort(keys)
	return keys
}
