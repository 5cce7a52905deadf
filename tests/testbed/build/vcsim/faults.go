// Fault injection for tests, on the simulator's own listener (127.0.0.1 only, no login):
//
//	POST   /ghost-testbed/faults          one rule as JSON, answered 201 with the rule and its id:
//	       {"method": "CreateVM_Task",     SOAP method name as on the wire (required)
//	        "fault": "NoDiskSpace",        any vim25 fault type name (required)
//	        "message": "...",              faultstring / task localizedMessage; default: hostd's
//	                                       text for NotSupported, else "NAME (injected by ...)"
//	        "count": 1,                    calls to fail, default 1; 0 = every call until deleted
//	        "match": "my-vm-name",         only calls whose SOAP body contains this text (as XML)
//	        "task": true,                  *_Task methods only: a task that ends in error
//	        "properties": {"file": "...", "datastore": "ds1"}}   the fault's own properties
//	GET    /ghost-testbed/faults          {"faults": [rule, ...]}, each with "fired" so far
//	DELETE /ghost-testbed/faults[?id=N]   removes rule N, or all rules: {"cleared": n}
//
// The next matching /sdk calls (the first live rule in creation order wins) do not reach the
// simulator: they answer HTTP 500 with a SOAP fault (faultstring message, detail
// <NAMEFault xsi:type="NAME"> in urn:vim25, so pyVmomi raises vim.fault.NAME, or vmodl.fault.NAME
// for the vmodl ones such as NotSupported and InvalidArgument), or, with "task",
// HTTP 200 with a new Task already in state error, as hostd reports what fails while a task runs.
// Rules apply before the session check. "match" keeps a test's rule away from other tests
// sharing the simulator (say, a VM name it alone uses).
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/types"
	"github.com/vmware/govmomi/vim25/xml"
)

const faultsPath = "/ghost-testbed/faults"

type faultRule struct {
	ID         int             `json:"id"`
	Method     string          `json:"method"`
	Fault      string          `json:"fault"`
	Message    string          `json:"message"`
	Count      int             `json:"count"`
	Match      string          `json:"match,omitempty"`
	Task       bool            `json:"task,omitempty"`
	Properties json.RawMessage `json:"properties,omitempty"`
	Fired      int             `json:"fired"`
}

func (r *faultRule) live() bool { return r.Count == 0 || r.Fired < r.Count }

type injector struct {
	reg   *simulator.Registry // where failed tasks are put
	mu    sync.Mutex
	rules []*faultRule
	last  int
}

func newInjector(reg *simulator.Registry) *injector { return &injector{reg: reg} }

// wrap serves the control endpoint and fails the calls that a rule matches; everything else
// goes on to next, with its body put back.
func (in *injector) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == faultsPath {
			in.control(w, r)
			return
		}
		if isSOAP(r) && in.active() {
			call := readCall(w, r)
			if call == nil {
				return // unreadable body: answered
			}
			if rule := in.take(call); rule != nil {
				in.fire(w, rule, call.Method)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

func (in *injector) active() bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	for _, r := range in.rules {
		if r.live() {
			return true
		}
	}
	return false
}

// take counts a firing of the first live rule for this call and returns a copy of it, or nil.
func (in *injector) take(call *soapCall) *faultRule {
	if call.Method == nil {
		return nil
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	for _, r := range in.rules {
		if r.Method == call.Method.Name && r.live() && bytes.Contains(call.Body, []byte(r.Match)) {
			r.Fired++
			fired := *r
			return &fired
		}
	}
	return nil
}

func (in *injector) fire(w http.ResponseWriter, rule *faultRule, m *simulator.Method) {
	fault, _ := newFault(rule.Fault, rule.Properties) // checked when the rule was added
	fmt.Fprintf(os.Stderr, "vcsim: fault injection: %s -> %s (rule %d, fired %d of %s)\n",
		m.Name, rule.Fault, rule.ID, rule.Fired, countText(rule.Count))
	if rule.Task {
		writeTask(w, m.Name, failedTask(in.reg, m.This, m.Name, fault, rule.Message))
	} else {
		writeFault(w, rule.Message, fault)
	}
}

func countText(n int) string {
	if n == 0 {
		return "unlimited"
	}
	return strconv.Itoa(n)
}

func (in *injector) control(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
		in.mu.Lock()
		rules := make([]faultRule, len(in.rules))
		for i, rule := range in.rules {
			rules[i] = *rule
		}
		in.mu.Unlock()
		writeJSON(w, http.StatusOK, map[string]any{"faults": rules})
	case http.MethodPost:
		rule, err := parseRule(r.Body)
		if err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
		in.mu.Lock()
		in.last++
		rule.ID = in.last
		in.rules = append(in.rules, rule)
		added := *rule
		in.mu.Unlock()
		writeJSON(w, http.StatusCreated, added)
	case http.MethodDelete:
		id := 0
		if s := r.URL.Query().Get("id"); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n <= 0 {
				writeJSON(w, http.StatusBadRequest, map[string]string{"error": "id must be a rule id"})
				return
			}
			id = n
		}
		in.mu.Lock()
		kept := in.rules[:0]
		for _, rule := range in.rules {
			if id != 0 && rule.ID != id {
				kept = append(kept, rule)
			}
		}
		cleared := len(in.rules) - len(kept)
		in.rules = kept
		in.mu.Unlock()
		writeJSON(w, http.StatusOK, map[string]int{"cleared": cleared})
	default:
		w.Header().Set("Allow", "GET, POST, DELETE")
		writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "use GET, POST or DELETE"})
	}
}

func parseRule(body io.Reader) (*faultRule, error) {
	rule := &faultRule{Count: 1}
	dec := json.NewDecoder(io.LimitReader(body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(rule); err != nil {
		return nil, fmt.Errorf("bad rule: %w", err)
	}
	switch {
	case rule.Method == "":
		return nil, fmt.Errorf("method is required (a SOAP method name such as CreateVM_Task)")
	case rule.Fault == "":
		return nil, fmt.Errorf("fault is required (a vim25 fault type name such as NotSupported)")
	case rule.Count < 0:
		return nil, fmt.Errorf("count must be 0 (every call) or more")
	case rule.Task && !strings.HasSuffix(rule.Method, "_Task"):
		return nil, fmt.Errorf("task applies only to *_Task methods, not %s", rule.Method)
	}
	if _, err := newFault(rule.Fault, rule.Properties); err != nil {
		return nil, err
	}
	if rule.Message == "" {
		rule.Message = rule.Fault + " (injected by the ghost.infra testbed)"
		if rule.Fault == "NotSupported" {
			rule.Message = notSupportedMessage
		}
	}
	rule.ID, rule.Fired = 0, 0
	return rule, nil
}

// newFault makes a fresh vim25 fault of that type name, with properties (JSON, vim25 names) set.
func newFault(name string, properties json.RawMessage) (types.BaseMethodFault, error) {
	t, ok := types.TypeFunc()(name)
	if !ok || t.Kind() != reflect.Struct {
		return nil, fmt.Errorf("fault %q is not a vim25 type", name)
	}
	fault, ok := reflect.New(t).Interface().(types.BaseMethodFault)
	if !ok {
		return nil, fmt.Errorf("%q is a vim25 type but not a fault", name)
	}
	if len(properties) != 0 {
		dec := json.NewDecoder(bytes.NewReader(properties))
		dec.DisallowUnknownFields()
		if err := dec.Decode(fault); err != nil {
			return nil, fmt.Errorf("properties of %s: %w", name, err)
		}
	}
	return fault, nil
}

// soapCall is one /sdk request: its body and, when decoded, its method (nil if it did not decode).
type soapCall struct {
	Body   []byte
	Method *simulator.Method
}

func isSOAP(r *http.Request) bool { return r.Method == http.MethodPost && r.URL.Path == vim25.Path }

// readCall reads r's body and puts it back for the next handler. It decodes the call when the
// body mentions one of names, or always when none is given. nil: unreadable, answered 400.
func readCall(w http.ResponseWriter, r *http.Request, names ...string) *soapCall {
	body, err := io.ReadAll(r.Body)
	_ = r.Body.Close()
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return nil
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	call := &soapCall{Body: body}
	wanted := len(names) == 0
	for _, name := range names {
		wanted = wanted || bytes.Contains(body, []byte(name))
	}
	if wanted {
		if m, err := simulator.UnmarshalBody(types.TypeFunc(), body); err == nil {
			call.Method = m
		}
	}
	return call
}

// failedTask registers a Task on entity that has already failed with fault and message msg.
// The simulator's own task runner would set localizedMessage to the Go type name instead.
func failedTask(reg *simulator.Registry, entity types.ManagedObjectReference, method string,
	fault types.BaseMethodFault, msg string) types.ManagedObjectReference {
	task := simulator.CreateTask(entity, method, nil)
	now := time.Now()
	task.Info.Name = method
	task.Info.State = types.TaskInfoStateError
	task.Info.StartTime = &now
	task.Info.CompleteTime = &now
	task.Info.Error = &types.LocalizedMethodFault{Fault: fault, LocalizedMessage: msg}
	reg.Put(task) // gives it its reference; no client knows the task before we answer
	task.Info.Key = task.Self.Value
	task.Info.Task = task.Self
	return task.Self
}

// The envelope, shaped as the simulator's own (simulator.go) so clients parse both alike.
type soapEnvelope struct {
	XMLName xml.Name `xml:"soapenv:Envelope"`
	Enc     string   `xml:"xmlns:soapenc,attr"`
	Env     string   `xml:"xmlns:soapenv,attr"`
	XSD     string   `xml:"xmlns:xsd,attr"`
	XSI     string   `xml:"xmlns:xsi,attr"`
	Body    any      `xml:"soapenv:Body"`
}

type soapFault struct {
	XMLName xml.Name    `xml:"soapenv:Fault"`
	Code    string      `xml:"faultcode"`
	String  string      `xml:"faultstring"`
	Detail  faultDetail `xml:"detail"`
}

type faultDetail struct{ Fault types.BaseMethodFault }

// MarshalXML writes <detail><NAMEFault xmlns="urn:vim25" xsi:type="NAME">...</NAMEFault></detail>.
func (d faultDetail) MarshalXML(e *xml.Encoder, start xml.StartElement) error {
	kind := reflect.TypeOf(d.Fault).Elem().Name()
	inner := xml.StartElement{
		Name: xml.Name{Local: kind + "Fault"},
		Attr: []xml.Attr{
			{Name: xml.Name{Local: "xmlns"}, Value: "urn:" + vim25.Namespace},
			{Name: xml.Name{Local: "xsi:type"}, Value: kind},
		},
	}
	if err := e.EncodeToken(start); err != nil {
		return err
	}
	if err := e.EncodeElement(d.Fault, inner); err != nil {
		return err
	}
	return e.EncodeToken(start.End())
}

type taskResponse struct {
	XMLName   xml.Name
	Returnval types.ManagedObjectReference `xml:"returnval"`
}

// writeFault answers HTTP 500 with a SOAP fault, as the simulator and hostd do.
func writeFault(w http.ResponseWriter, msg string, fault types.BaseMethodFault) {
	writeEnvelope(w, http.StatusInternalServerError, struct{ Fault *soapFault }{&soapFault{
		Code: "ServerFaultCode", String: msg, Detail: faultDetail{fault},
	}})
}

// writeTask answers method's usual response: the reference of task.
func writeTask(w http.ResponseWriter, method string, task types.ManagedObjectReference) {
	writeEnvelope(w, http.StatusOK, &taskResponse{
		XMLName:   xml.Name{Space: "urn:" + vim25.Namespace, Local: method + "Response"},
		Returnval: task,
	})
}

func writeEnvelope(w http.ResponseWriter, status int, body any) {
	var out bytes.Buffer
	out.WriteString(xml.Header)
	err := xml.NewEncoder(&out).Encode(&soapEnvelope{
		Enc:  "http://schemas.xmlsoap.org/soap/encoding/",
		Env:  "http://schemas.xmlsoap.org/soap/envelope/",
		XSD:  "http://www.w3.org/2001/XMLSchema",
		XSI:  "http://www.w3.org/2001/XMLSchema-instance",
		Body: body,
	})
	if err != nil {
		http.Error(w, "encoding the answer: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(out.Bytes())
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
