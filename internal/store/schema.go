package store

// Bucket names and the schema version, in one place (etcd storage/schema).
//
// Keys are sortable big-endian bytes. IDs are UUIDv7, so their 16 bytes sort in creation order and
// listing a bucket lists in creation order.
var (
	bucketMeta         = []byte("meta")          // metaKey* -> value
	bucketParticipants = []byte("participants")  // participant id -> candorv1.Participant
	bucketTokens       = []byte("tokens")        // sha256(token) -> participant id
	bucketSOIs         = []byte("sois")          // participant id | u64 version -> candorv1.StatementOfInterest
	bucketBodies       = []byte("bodies")        // body id -> candorv1.Body
	bucketMembers      = []byte("members")       // body id | participant id -> candorv1.Membership
	bucketFormer       = []byte("formermembers") // body id | participant id -> candorv1.Membership as it was when removed
	bucketCalls        = []byte("calls")         // body id | call id -> candorv1.Call
	bucketCallHeads    = []byte("callheads")     // body id | call id -> candorv1.Call without eligible_participants
	bucketEligible     = []byte("eligible")      // call id | participant id -> 0x01 (empty in older files)
	bucketDeadlines    = []byte("deadlines")     // u64 unix nanos | body id | call id -> empty (open calls only)
	bucketDeclarations = []byte("declarations")  // call id | participant id -> current candorv1.Declaration
	bucketClearances   = []byte("clearances")    // call id | participant id -> candorv1.Clearance of the current declaration
	bucketBallots      = []byte("ballots")       // call id | participant id -> current candorv1.Ballot
	bucketPositions    = []byte("positions")     // call id | participant id -> current candorv1.PositionStatement
	bucketFiled        = []byte("filed")         // call id | participant id | kind byte -> u32 records filed, superseded ones included
	bucketRequests     = []byte("requests")      // sha256(actor, method, request id) -> u64 log index | request fingerprint
	bucketHistory      = []byte("history")       // participant id | u64 log index -> call id (declarations only)
	bucketCallRecord   = []byte("callrecord")    // call id | u64 log index -> empty
	bucketLog          = []byte("log")           // u64 log index -> serialized candorv1.LogEntry (never changed)
	bucketHashes       = []byte("hashes")        // u64 tlog stored-hash index -> 32-byte hash
	bucketCheckpoints  = []byte("checkpoints")   // u64 tree size -> signed checkpoint note
)

var allBuckets = [][]byte{
	bucketMeta, bucketParticipants, bucketTokens, bucketSOIs, bucketBodies, bucketMembers, bucketFormer, bucketCalls,
	bucketCallHeads, bucketEligible,
	bucketDeadlines, bucketDeclarations, bucketClearances, bucketBallots, bucketPositions, bucketFiled, bucketRequests, bucketHistory, bucketCallRecord,
	bucketLog, bucketHashes, bucketCheckpoints,
}

// appendOnly buckets only ever grow at their end: packing their pages full halves the file. (The call
// record index is not among them: its keys start with the call, so older calls get inserts.)
var appendOnly = [][]byte{bucketLog, bucketHashes, bucketCheckpoints}

var (
	metaKeySchema         = []byte("schema")
	metaKeyAdminTokenHash = []byte("admin_token_sha256")
	metaKeyOrigin         = []byte("log_origin")
	metaKeyLogSize        = []byte("log_size")
)

// schemaVersion is the layout this code reads and writes.
const schemaVersion = 1
