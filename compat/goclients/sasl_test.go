package goclients

import (
	"context"
	"crypto/pbkdf2"
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"hash"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/sasl"
	"github.com/segmentio/kafka-go/sasl/plain"
	kafkagoscram "github.com/segmentio/kafka-go/sasl/scram"
	"github.com/xdg-go/scram"
)

// saslBroker listens on PLAINTEXT (administration) and SASL_PLAINTEXT with
// PLAIN (JAAS user bob) and both SCRAM mechanisms.
func startSASLBroker(t *testing.T) (plainAddr, saslAddr string) {
	t.Helper()
	plainAddr, saslAddr = freeAddr(t), freeAddr(t)
	startBrokerWith(t, saslAddr,
		"--set", "listeners=PLAINTEXT://"+plainAddr+",SASL_PLAINTEXT://"+saslAddr,
		"--set", "sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512",
		"--set", `listener.name.sasl_plaintext.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_bob="bob-secret";`)
	return plainAddr, saslAddr
}

// xdgClient adapts xdg-go/scram to sarama's SCRAMClient, as sarama's own
// example does.
type xdgClient struct {
	hash func() hash.Hash
	conv *scram.ClientConversation
}

func (c *xdgClient) Begin(user, password, authzID string) error {
	client, err := scram.HashGeneratorFcn(c.hash).NewClient(user, password, authzID)
	if err != nil {
		return err
	}
	c.conv = client.NewConversation()
	return nil
}

func (c *xdgClient) Step(challenge string) (string, error) { return c.conv.Step(challenge) }
func (c *xdgClient) Done() bool                            { return c.conv.Done() }

func saramaSASLConfig(mechanism sarama.SASLMechanism, user, password string) *sarama.Config {
	cfg := saramaCase{name: "sasl", strategy: sarama.NewBalanceStrategyRange}.config()
	cfg.Net.SASL.Enable = true
	cfg.Net.SASL.Mechanism = mechanism
	cfg.Net.SASL.User, cfg.Net.SASL.Password = user, password
	cfg.Net.SASL.Handshake = true
	switch mechanism {
	case sarama.SASLTypeSCRAMSHA256:
		cfg.Net.SASL.SCRAMClientGeneratorFunc = func() sarama.SCRAMClient { return &xdgClient{hash: sha256.New} }
	case sarama.SASLTypeSCRAMSHA512:
		cfg.Net.SASL.SCRAMClientGeneratorFunc = func() sarama.SCRAMClient { return &xdgClient{hash: sha512.New} }
	}
	cfg.Metadata.Retry.Max = 0
	cfg.Producer.Retry.Max = 0
	return cfg
}

// TestSaramaSASL creates a SCRAM user with sarama's admin (the
// AlterUserScramCredentials API), then produces over SASL_PLAINTEXT with
// each mechanism; a wrong password fails.
func TestSaramaSASL(t *testing.T) {
	plainAddr, saslAddr := startSASLBroker(t)
	adminCfg := sarama.NewConfig()
	adminCfg.Version = sarama.V2_8_0_0
	admin, err := sarama.NewClusterAdmin([]string{plainAddr}, adminCfg)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	var upserts []sarama.AlterUserScramCredentialsUpsert
	for _, m := range []sarama.ScramMechanismType{sarama.SCRAM_MECHANISM_SHA_256, sarama.SCRAM_MECHANISM_SHA_512} {
		upserts = append(upserts, sarama.AlterUserScramCredentialsUpsert{Name: "sam", Mechanism: m, Iterations: 4096, Password: []byte("sam-secret")})
	}
	results, err := admin.UpsertUserScramCredentials(upserts)
	if err != nil {
		t.Fatalf("upsert SCRAM user with sarama: %v", err)
	}
	for _, r := range results {
		if r.ErrorCode != sarama.ErrNoError {
			t.Fatalf("upsert %s: %v", r.User, r.ErrorCode)
		}
	}
	described, err := admin.DescribeUserScramCredentials([]string{"sam"})
	if err != nil || len(described) != 1 || len(described[0].CredentialInfos) != 2 {
		t.Fatalf("describe SCRAM user with sarama: %v %+v", err, described)
	}

	// The producers below do not retry (a wrong password must fail at
	// once), so the topic exists before they send: the Metadata request that
	// auto-creates a topic is answered LEADER_NOT_AVAILABLE, as Kafka does.
	if err := admin.CreateTopic("sarama-sasl", &sarama.TopicDetail{NumPartitions: 1, ReplicationFactor: 1}, false); err != nil {
		t.Fatalf("create topic with sarama over SASL: %v", err)
	}
	for _, tc := range []struct {
		mech           sarama.SASLMechanism
		user, password string
	}{
		{sarama.SASLTypeSCRAMSHA256, "sam", "sam-secret"},
		{sarama.SASLTypeSCRAMSHA512, "sam", "sam-secret"},
		{sarama.SASLTypePlaintext, "bob", "bob-secret"},
	} {
		t.Run(string(tc.mech), func(t *testing.T) {
			producer, err := sarama.NewSyncProducer([]string{saslAddr}, saramaSASLConfig(tc.mech, tc.user, tc.password))
			if err != nil {
				t.Fatalf("sarama producer with %s: %v", tc.mech, err)
			}
			defer producer.Close()
			if _, _, err := producer.SendMessage(&sarama.ProducerMessage{Topic: "sarama-sasl", Value: sarama.StringEncoder("over " + string(tc.mech))}); err != nil {
				t.Fatalf("send with %s: %v", tc.mech, err)
			}
		})
	}
	t.Run("wrong password", func(t *testing.T) {
		producer, err := sarama.NewSyncProducer([]string{saslAddr}, saramaSASLConfig(sarama.SASLTypeSCRAMSHA256, "sam", "nope"))
		if err == nil {
			producer.Close()
			t.Fatal("sarama connected with a wrong SCRAM password")
		}
	})
}

// TestKafkaGoSASL produces and reads back with segmentio/kafka-go over
// SASL_PLAINTEXT with PLAIN and SCRAM-SHA-512.
func TestKafkaGoSASL(t *testing.T) {
	plainAddr, saslAddr := startSASLBroker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	sha512Mech, err := kafkagoscram.Mechanism(kafkagoscram.SHA512, "kgo", "kgo-secret")
	if err != nil {
		t.Fatal(err)
	}
	// Create the SCRAM user through the API (kafka-go has the request).
	admin := &kafka.Client{Addr: kafka.TCP(plainAddr), Timeout: 10 * time.Second}
	resp, err := admin.AlterUserScramCredentials(ctx, &kafka.AlterUserScramCredentialsRequest{
		Upsertions: []kafka.UserScramCredentialsUpsertion{{Name: "kgo", Mechanism: kafka.ScramMechanismSha512, Iterations: 4096, Salt: []byte("kafka-go-salt"), SaltedPassword: saltedSHA512("kgo-secret", []byte("kafka-go-salt"), 4096)}},
	})
	if err != nil || len(resp.Results) != 1 || resp.Results[0].Error != nil {
		t.Fatalf("create SCRAM user with kafka-go: %v %+v", err, resp)
	}
	for _, tc := range []struct {
		name string
		mech sasl.Mechanism
	}{
		{"PLAIN", plain.Mechanism{Username: "bob", Password: "bob-secret"}},
		{"SCRAM-SHA-512", sha512Mech},
	} {
		t.Run(tc.name, func(t *testing.T) {
			topic := "kafka-go-sasl-" + tc.name
			transport := &kafka.Transport{SASL: tc.mech}
			w := &kafka.Writer{Addr: kafka.TCP(saslAddr), Topic: topic, Transport: transport,
				AllowAutoTopicCreation: true, RequiredAcks: kafka.RequireAll, BatchTimeout: 10 * time.Millisecond}
			defer w.Close()
			var werr error
			for range 20 { // the first write may meet the topic's creation
				if werr = w.WriteMessages(ctx, kafka.Message{Value: []byte("over " + tc.name)}); werr == nil {
					break
				}
				time.Sleep(100 * time.Millisecond)
			}
			if werr != nil {
				t.Fatalf("write with %s: %v", tc.name, werr)
			}
			r := kafka.NewReader(kafka.ReaderConfig{Brokers: []string{saslAddr}, Topic: topic, Partition: 0,
				Dialer: &kafka.Dialer{SASLMechanism: tc.mech, Timeout: 10 * time.Second}, MaxWait: 200 * time.Millisecond})
			defer r.Close()
			m, err := r.ReadMessage(ctx)
			if err != nil || string(m.Value) != "over "+tc.name {
				t.Fatalf("read with %s: %v %q", tc.name, err, m.Value)
			}
		})
	}
	bad, _ := kafkagoscram.Mechanism(kafkagoscram.SHA512, "kgo", "wrong")
	conn, err := (&kafka.Dialer{SASLMechanism: bad, Timeout: 10 * time.Second}).DialContext(ctx, "tcp", saslAddr)
	if err == nil {
		conn.Close()
		t.Fatal("kafka-go connected with a wrong SCRAM password")
	}
	if !errors.Is(err, kafka.SASLAuthenticationFailed) {
		t.Logf("wrong password: %v", err)
	}
}

// saltedSHA512 is SCRAM's Hi(password, salt, iterations) for SHA-512,
// which AlterUserScramCredentials carries instead of the password.
func saltedSHA512(password string, salt []byte, iterations int) []byte {
	key, err := pbkdf2.Key(sha512.New, password, salt, iterations, sha512.Size)
	if err != nil {
		panic(err)
	}
	return key
}
