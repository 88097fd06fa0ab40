package httpapi

import (
	"reflect"
	"strings"
	"testing"

	"github.com/latchsh/latch/errs"
)

func TestFilterParseRefusals(t *testing.T) {
	deep := strings.Repeat("(", maxFilterDepth+1) + "id eq 'x'" + strings.Repeat(")", maxFilterDepth+1)
	tests := []struct {
		name, src, code string
	}{
		{"fail/empty", "", "BadRequest"},
		{"fail/unknown-property", "jobTitle eq 'x'", "Request_UnsupportedQuery"},
		{"fail/unsupported-operator", "displayName gt 'a'", "Request_UnsupportedQuery"},
		{"fail/unsupported-function", "endswith(mail,'@contoso.test')", "Request_UnsupportedQuery"},
		{"fail/contains", "contains(displayName,'a')", "Request_UnsupportedQuery"},
		{"fail/unterminated-string", "displayName eq 'abc", "BadRequest"},
		{"fail/missing-value", "displayName eq", "BadRequest"},
		{"fail/number-value", "displayName eq 5", "BadRequest"},
		{"fail/bare-word-value", "displayName eq alice", "BadRequest"},
		{"fail/bool-on-string", "displayName eq true", "Request_UnsupportedQuery"},
		{"fail/string-on-bool", "accountEnabled eq 'true'", "Request_UnsupportedQuery"},
		{"fail/null-on-bool", "accountEnabled eq null", "Request_UnsupportedQuery"},
		{"fail/startswith-bool", "startswith(accountEnabled,'t')", "Request_UnsupportedQuery"},
		{"fail/startswith-unquoted", "startswith(displayName,a)", "BadRequest"},
		{"fail/list-without-any", "servicePrincipalNames eq 'x'", "Request_UnsupportedQuery"},
		{"fail/all-lambda", "servicePrincipalNames/all(c:c eq 'x')", "Request_UnsupportedQuery"},
		{"fail/any-on-string", "displayName/any(c:c eq 'x')", "Request_UnsupportedQuery"},
		{"fail/lambda-uses-outer-prop", "servicePrincipalNames/any(c:displayName eq 'x')", "Request_UnsupportedQuery"},
		{"fail/lambda-keyword-var", "servicePrincipalNames/any(eq:eq eq 'x')", "BadRequest"},
		{"fail/lambda-no-colon", "servicePrincipalNames/any(c c eq 'x')", "BadRequest"},
		{"fail/unbalanced-open", "(id eq 'x'", "BadRequest"},
		{"fail/unbalanced-close", "id eq 'x')", "BadRequest"},
		{"fail/dangling-and", "id eq 'x' and", "BadRequest"},
		{"fail/empty-in", "id in ()", "BadRequest"},
		{"fail/in-no-parens", "id in 'a'", "BadRequest"},
		{"fail/bad-character", "id eq 'x' & id eq 'y'", "BadRequest"},
		{"fail/too-deep", deep, "Request_UnsupportedQuery"},
		{"fail/too-deep-not", strings.Repeat("not ", maxFilterDepth+1) + "id eq 'x'", "Request_UnsupportedQuery"},
		{"fail/too-long", "displayName eq '" + strings.Repeat("a", maxFilterLen) + "'", "Request_UnsupportedQuery"},
		{"fail/too-many-in", "id in (" + strings.TrimSuffix(strings.Repeat("'a',", maxFilterIn+1), ",") + ")", "Request_UnsupportedQuery"},
		{"fail/keyword-as-property", "and eq 'x'", "Request_UnsupportedQuery"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := parseFilter(tt.src, directoryObjectFilterSchema)
			if err == nil {
				t.Fatalf("parseFilter(%q) = %v, want an error", tt.src, e)
			}
			if !errs.Is(err, errs.Invalid) || string(errs.CodeOf(err)) != tt.code {
				t.Fatalf("parseFilter(%q) error %v (code %q), want Invalid with code %q", tt.src, err, errs.CodeOf(err), tt.code)
			}
			if msg := errs.Message(err); msg == "" || strings.Contains(msg, "internal") {
				t.Errorf("message %q does not tell the user what is wrong", msg)
			}
		})
	}
}

func TestFilterParseCanonical(t *testing.T) {
	tests := []struct{ src, want string }{
		{"userPrincipalName eq 'alice@contoso.test'", "userPrincipalName eq 'alice@contoso.test'"},
		{"USERPRINCIPALNAME EQ 'a'", "userPrincipalName eq 'a'"},
		{"displayName eq 'O''Brien'", "displayName eq 'O''Brien'"},
		{"((id eq 'a'))", "id eq 'a'"},
		{"id eq 'a' or id eq 'b' and id eq 'c'", "id eq 'a' or id eq 'b' and id eq 'c'"},
		{"(id eq 'a' or id eq 'b') and id eq 'c'", "(id eq 'a' or id eq 'b') and id eq 'c'"},
		{"(id eq 'a' or id eq 'b') or id eq 'c'", "id eq 'a' or id eq 'b' or id eq 'c'"},
		{"not(startswith(displayName,'x'))", "not startswith(displayName,'x')"},
		{"not (id eq 'a' and id eq 'b')", "not (id eq 'a' and id eq 'b')"},
		{"id in ( 'a' , 'b' )", "id in ('a','b')"},
		{"mail eq null", "mail eq null"},
		{"accountEnabled eq FALSE", "accountEnabled eq false"},
		{"servicePrincipalNames/any(c:c eq 'x' or startswith(c,'api://'))", "servicePrincipalNames/any(c:c eq 'x' or startswith(c,'api://'))"},
	}
	for _, tt := range tests {
		e, err := parseFilter(tt.src, directoryObjectFilterSchema)
		if err != nil {
			t.Errorf("parseFilter(%q): %v", tt.src, err)
			continue
		}
		if got := e.String(); got != tt.want {
			t.Errorf("parseFilter(%q).String() = %q, want %q", tt.src, got, tt.want)
		}
	}
}

func TestFilterParsePrecedence(t *testing.T) {
	e, err := parseFilter("id eq 'a' or id eq 'b' and not id eq 'c'", directoryObjectFilterSchema)
	if err != nil {
		t.Fatal(err)
	}
	want := filterBinary{Op: "or", Terms: []filterExpr{
		filterCompare{"id", "eq", filterValue{Str: "a"}},
		filterBinary{Op: "and", Terms: []filterExpr{
			filterCompare{"id", "eq", filterValue{Str: "b"}},
			filterNot{filterCompare{"id", "eq", filterValue{Str: "c"}}},
		}},
	}}
	if !reflect.DeepEqual(e, want) {
		t.Fatalf("got %#v\nwant %#v", e, want)
	}
}

func TestFilterMatch(t *testing.T) {
	alice := map[string]any{"id": "1", "displayName": "Alice O'Neil", "userPrincipalName": "alice@contoso.test",
		"mail": nil, "accountEnabled": true, "servicePrincipalNames": []string{"api://one", "Two"}}
	tests := []struct {
		src  string
		want bool
	}{
		{"userPrincipalName eq 'ALICE@contoso.test'", true},
		{"userPrincipalName ne 'alice@contoso.test'", false},
		{"displayName eq 'alice o''neil'", true},
		{"startswith(displayName,'ali')", true},
		{"startswith(displayName,'bob')", false},
		{"id in ('2','1')", true},
		{"id in ('2','3')", false},
		{"mail eq null", true},
		{"mail ne null", false},
		{"accountEnabled eq true", true},
		{"accountEnabled eq false", false},
		{"not accountEnabled eq false", true},
		{"accountEnabled eq false or startswith(userPrincipalName,'al')", true},
		{"accountEnabled eq true and id eq '2'", false},
		{"servicePrincipalNames/any(c:c eq 'two')", true},
		{"servicePrincipalNames/any(c:startswith(c,'api:'))", true},
		{"servicePrincipalNames/any(x:x eq 'three')", false},
		{"appId eq 'x'", false}, // absent on users
	}
	for _, tt := range tests {
		e, err := parseFilter(tt.src, directoryObjectFilterSchema)
		if err != nil {
			t.Fatalf("parseFilter(%q): %v", tt.src, err)
		}
		if got := e.match(alice); got != tt.want {
			t.Errorf("%q matched %v, want %v", tt.src, got, tt.want)
		}
	}
}
