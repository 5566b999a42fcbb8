package compat

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/samsa-broker/samsa/internal/brokertest"
)

// startACLBroker runs a broker with an authorizer: a PLAINTEXT listener for
// the test's own administration (its anonymous principal is a super user,
// as operators configure an internal listener) and a SASL_PLAINTEXT one
// with PLAIN users admin (a super user) and the given user.
func startACLBroker(t *testing.T, user, password string) (b *brokertest.Broker, sasl string) {
	t.Helper()
	b = brokertest.Start(t, map[string]string{
		"listeners":               "PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0",
		"sasl.enabled.mechanisms": "PLAIN",
		"listener.name.sasl_plaintext.plain.sasl.jaas.config": `org.apache.kafka.common.security.plain.PlainLoginModule required ` +
			`username="admin" password="admin-secret" user_admin="admin-secret" user_` + user + `="` + password + `";`,
		"authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
		"super.users":           "User:admin;User:ANONYMOUS",
	})
	return b, b.B.Addrs()[1]
}

// aclSummary is what acls.js and acls.py (kafka-python) print.
type aclSummary struct {
	Before, Allowed, Denied, After string
	Described                      []string
	Created                        int
	CreateFailed                   []string `json:"create_failed"`
	DescribeError                  *string  `json:"describe_error"`
	Deleted                        int
}

// checkACLSummary: nothing before the ACLs, the allowed topic after them,
// never the denied one, nothing again once they are deleted.
func checkACLSummary(t *testing.T, client string, s aclSummary, authFailed string) {
	t.Helper()
	if s.Before == "ok" || !strings.Contains(s.Before, authFailed) {
		t.Errorf("%s produce before any ACL: %q, want %s", client, s.Before, authFailed)
	}
	if s.Allowed != "ok" {
		t.Errorf("%s produce with WRITE: %q, want ok", client, s.Allowed)
	}
	if !strings.Contains(s.Denied, authFailed) {
		t.Errorf("%s produce to the other topic: %q, want %s", client, s.Denied, authFailed)
	}
	if s.Deleted != 2 {
		t.Errorf("%s deleted %d ACLs, want 2", client, s.Deleted)
	}
	if !strings.Contains(s.After, authFailed) {
		t.Errorf("%s produce after deleting the ACLs: %q, want %s", client, s.After, authFailed)
	}
}

// TestKafkajsACLs creates, describes and deletes ACLs with kafkajs's admin
// client and produces as the user they name.
func TestKafkajsACLs(t *testing.T) {
	k := findKafkajs(t)
	b, sasl := startACLBroker(t, "jsuser", "js-secret")
	createTopic(t, b, "js-allowed", 1)
	createTopic(t, b, "js-denied", 1)
	out := run(t, command{name: k.node, args: []string{"acls.js", "js-allowed", "js-denied"}, dir: k.dir, timeout: 90 * time.Second,
		env: []string{"BROKER=" + sasl, "ADMIN_USER=admin", "ADMIN_PASSWORD=admin-secret", "USER_NAME=jsuser", "USER_PASSWORD=js-secret"}})
	var s aclSummary
	decodeSummary(t, out, &s)
	checkACLSummary(t, "kafkajs", s, "TOPIC_AUTHORIZATION_FAILED")
	// kafkajs reports numeric types: topic 2, WRITE 4, DESCRIBE 8, ALLOW 3.
	if want := []string{"2:js-allowed:4:3", "2:js-allowed:8:3"}; !slices.Equal(s.Described, want) {
		t.Errorf("kafkajs describeAcls: %v, want %v", s.Described, want)
	}
}

// TestPythonACLs does the same with kafka-python's admin client, and checks
// that librdkafka (confluent-kafka) and kcat report the denial.
func TestPythonACLs(t *testing.T) {
	script, err := filepath.Abs(filepath.Join("python", "acls.py"))
	if err != nil {
		t.Fatal(err)
	}
	b, sasl := startACLBroker(t, "pyuser", "py-secret")
	createTopic(t, b, "py-allowed", 1)
	createTopic(t, b, "py-denied", 1)

	t.Run("kafka-python", func(t *testing.T) {
		python := findPython(t, "kafka", "python3-kafka")
		out := run(t, command{name: python, args: []string{script, "kafka-python", sasl, "admin", "admin-secret", "pyuser", "py-secret", "py-allowed", "py-denied"}, timeout: 120 * time.Second})
		var s aclSummary
		decodeSummary(t, out, &s)
		if s.Created != 2 || len(s.CreateFailed) != 0 || s.DescribeError != nil {
			t.Errorf("kafka-python create_acls/describe_acls: created %d, failed %v, describe error %v", s.Created, s.CreateFailed, s.DescribeError)
		}
		if want := []string{"TOPIC:py-allowed:DESCRIBE", "TOPIC:py-allowed:WRITE"}; !slices.Equal(s.Described, want) {
			t.Errorf("kafka-python describe_acls: %v, want %v", s.Described, want)
		}
		checkACLSummary(t, "kafka-python", s, "TopicAuthorizationFailed")
	})

	t.Run("confluent-kafka", func(t *testing.T) {
		python := findPython(t, "confluent_kafka", "python3-confluent-kafka")
		out := run(t, command{name: python, args: []string{script, "confluent-produce", sasl, "pyuser", "py-secret", "py-denied"}, timeout: 60 * time.Second})
		var s struct{ Result string }
		decodeSummary(t, out, &s)
		if s.Result != "TOPIC_AUTHORIZATION_FAILED" {
			t.Errorf("librdkafka produce without WRITE: %q, want TOPIC_AUTHORIZATION_FAILED", s.Result)
		}
	})

	t.Run("kcat", func(t *testing.T) {
		kcat := lookTool(t, "kcat")
		args := []string{"-b", sasl, "-X", "security.protocol=SASL_PLAINTEXT", "-X", "sasl.mechanisms=PLAIN",
			"-X", "sasl.username=pyuser", "-X", "sasl.password=py-secret"}
		out, err := runCommand(t, command{name: kcat, args: append(args, "-C", "-t", "py-denied", "-o", "beginning", "-e"), timeout: 30 * time.Second})
		if err == nil || !strings.Contains(strings.ToLower(out.stderr), "authoriz") {
			t.Errorf("kcat -C without READ: err %v, stderr:\n%s", err, tail(out.stderr))
		}
	})
}
