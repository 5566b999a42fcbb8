package handler

import (
	"context"
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/samsa-broker/samsa/internal/acl"
	"github.com/samsa-broker/samsa/internal/metadata"
	"github.com/samsa-broker/samsa/internal/partition"
	"github.com/samsa-broker/samsa/internal/quota"
	"github.com/samsa-broker/samsa/internal/security"
	"github.com/samsa-broker/samsa/internal/tokens"
	"github.com/samsa-broker/samsa/internal/topics"
	"github.com/samsa-broker/samsa/internal/txn"
)

// errorCode maps an internal error to the Kafka error code a client acts on.
// It is the only place where internal errors meet Kafka codes.
func errorCode(err error) int16 {
	switch {
	case err == nil:
		return 0
	case errors.Is(err, errInvalidFeatureUpdate):
		return kerr.InvalidUpdateVersion.Code
	case errors.Is(err, partition.ErrCorruptBatch):
		return kerr.CorruptMessage.Code
	case errors.Is(err, partition.ErrUnsupportedFormat):
		return kerr.UnsupportedForMessageFormat.Code
	case errors.Is(err, partition.ErrBatchTooLarge):
		return kerr.MessageTooLarge.Code
	case errors.Is(err, partition.ErrInvalidRecord):
		return kerr.InvalidRecord.Code
	case errors.Is(err, partition.ErrOutOfOrderSequence):
		return kerr.OutOfOrderSequenceNumber.Code
	case errors.Is(err, partition.ErrInvalidEpoch):
		return kerr.InvalidProducerEpoch.Code
	case errors.Is(err, partition.ErrOffsetOutOfRange):
		return kerr.OffsetOutOfRange.Code
	case errors.Is(err, partition.ErrClosed):
		// The partition is going away (shutdown or deletion): a retriable
		// error makes the client refresh metadata and try again.
		return kerr.NotLeaderForPartition.Code
	case errors.Is(err, partition.ErrStorage):
		return kerr.KafkaStorageError.Code
	case errors.Is(err, tokens.ErrDisabled):
		return kerr.DelegationTokenAuthDisabled.Code
	case errors.Is(err, tokens.ErrNotFound):
		return kerr.DelegationTokenNotFound.Code
	case errors.Is(err, tokens.ErrOwnerMismatch):
		return kerr.DelegationTokenOwnerMismatch.Code
	case errors.Is(err, tokens.ErrExpired):
		return kerr.DelegationTokenExpired.Code
	case errors.Is(err, txn.ErrLoading):
		return kerr.CoordinatorLoadInProgress.Code
	case errors.Is(err, txn.ErrInvalidTimeout):
		return kerr.InvalidTransactionTimeout.Code
	case errors.Is(err, txn.ErrUnknownProducerID):
		return kerr.InvalidProducerIDMapping.Code
	case errors.Is(err, txn.ErrProducerFenced):
		return kerr.ProducerFenced.Code
	case errors.Is(err, txn.ErrConcurrent):
		return kerr.ConcurrentTransactions.Code
	case errors.Is(err, txn.ErrInvalidState):
		return kerr.InvalidTxnState.Code
	case errors.Is(err, txn.ErrCoordinatorShutdown):
		return kerr.NotCoordinator.Code
	case errors.Is(err, txn.ErrStorage):
		// Retriable: a retried EndTxn waits (CONCURRENT_TRANSACTIONS)
		// until the coordinator has written the markers.
		return kerr.CoordinatorNotAvailable.Code
	case errors.Is(err, topics.ErrInvalidTopicName):
		return kerr.InvalidTopicException.Code
	case errors.Is(err, topics.ErrInvalidConfig):
		return kerr.InvalidConfig.Code
	case errors.Is(err, topics.ErrInvalidBrokerConfig):
		// Kafka answers INVALID_REQUEST, not INVALID_CONFIG, for a broker
		// config change it cannot apply (KAFKA-13609).
		return kerr.InvalidRequest.Code
	case errors.Is(err, topics.ErrInvalidPartitions):
		return kerr.InvalidPartitions.Code
	case errors.Is(err, topics.ErrTopicExists):
		return kerr.TopicAlreadyExists.Code
	case errors.Is(err, topics.ErrInternalTopic):
		return kerr.InvalidRequest.Code
	case errors.Is(err, topics.ErrUnknownTopic):
		return kerr.UnknownTopicOrPartition.Code
	case errors.Is(err, security.ErrUnsupportedMechanism):
		return kerr.UnsupportedSaslMechanism.Code
	case errors.Is(err, security.ErrAuthenticationFailed):
		return kerr.SaslAuthenticationFailed.Code
	case errors.Is(err, security.ErrUnacceptableCredential):
		return kerr.UnacceptableCredential.Code
	case errors.Is(err, errDuplicateScram):
		return kerr.DuplicateResource.Code
	case errors.Is(err, metadata.ErrUnknownCredential):
		return kerr.ResourceNotFound.Code
	case errors.Is(err, acl.ErrInvalid), errors.Is(err, quota.ErrInvalid):
		return kerr.InvalidRequest.Code
	case errors.Is(err, quota.ErrUnsupportedEntityType):
		return kerr.UnsupportedVersion.Code
	case errors.Is(err, errInvalidRequest):
		return kerr.InvalidRequest.Code
	case errors.Is(err, errInvalidConfig):
		return kerr.InvalidConfig.Code
	case errors.Is(err, errClusterNotAuthorized):
		return kerr.ClusterAuthorizationFailed.Code
	case errors.Is(err, errSecurityDisabled):
		return kerr.SecurityDisabled.Code
	case errors.Is(err, context.DeadlineExceeded):
		return kerr.RequestTimedOut.Code
	case errors.Is(err, context.Canceled):
		return kerr.RequestTimedOut.Code
	}
	return kerr.UnknownServerError.Code
}

// txnErrorCode is errorCode for a transaction request of the given version:
// versions before fencedSince knew no PRODUCER_FENCED and get
// INVALID_PRODUCER_EPOCH instead, as Kafka answers them (KIP-588).
func txnErrorCode(err error, version, fencedSince int16) int16 {
	code := errorCode(err)
	if code == kerr.ProducerFenced.Code && version < fencedSince {
		return kerr.InvalidProducerEpoch.Code
	}
	return code
}

// errInvalidRequest and errInvalidConfig are a handler's own refusals
// (INVALID_REQUEST, INVALID_CONFIG).
var (
	errInvalidRequest = errors.New("invalid request")
	errInvalidConfig  = errors.New("invalid config")
)

// errDuplicateScram: AlterUserScramCredentials named one user and
// mechanism twice.
var errDuplicateScram = errors.New("a user's credential for one mechanism may be altered once per request")

// errorMessage returns a message for the response's error_message field, or
// nil when there is no error.
func errorMessage(err error) *string {
	if err == nil {
		return nil
	}
	s := err.Error()
	return &s
}

// errorDescription is the message Kafka sends with an error code: the error's
// description.
func errorDescription(code int16) string {
	var e *kerr.Error
	if errors.As(kerr.ErrorForCode(code), &e) {
		return e.Description
	}
	return fmt.Sprintf("error code %d", code)
}
