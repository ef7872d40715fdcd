//! The rule table: every kind of change the checker reports, its verdict in each
//! direction, and the one-line fix. This is §6 of `shared/research/schema.md` as data.
//!
//! A schema-level change ([`Kind::is_schema`]) gets its rule ID from the place it was
//! found: `PAYLOAD_ENUM_VALUE_ADDED` is [`Kind::EnumValueAdded`] in an event payload. The
//! place decides the direction ([`Scope::direction`]), the direction picks the verdict:
//! - client→server (params, action requests, JWT claims): the server reads, so the new
//!   schema must accept everything the old one did;
//! - server→client (event payloads, action replies, error codes): old clients read, so the
//!   new schema may only produce what the old one allowed, as a *tolerant reader* sees it
//!   (unknown object keys ignored, unknown values of `x-extensible-enum` enums and
//!   `x-extensible-union` unions accepted).
//!
//! Name-level rules (§6.2) are about identifiers and carry one verdict.

use std::fmt;

/// How bad a change is for deployed clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Verdict {
    /// Deployed clients keep working.
    Safe,
    /// Compatible only under stated assumptions, or a behaviour change: needs review.
    Warn,
    /// Deployed clients break: needs an ignore entry and a major version.
    Break,
}

impl Verdict {
    /// `safe`, `warn`, `break`.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Safe => "safe",
            Verdict::Warn => "warn",
            Verdict::Break => "break",
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who reads the data a schema describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Direction {
    /// The server reads (params, requests, claims): new must accept a superset.
    ClientToServer,
    /// Old clients read (payloads, replies, error codes): new must produce a subset.
    ServerToClient,
    /// A name: channel, event, action, param, stream key, rule.
    Identifier,
}

impl Direction {
    /// `client_to_server`, `server_to_client`, `identifier`.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::ClientToServer => "client_to_server",
            Direction::ServerToClient => "server_to_client",
            Direction::Identifier => "identifier",
        }
    }

    /// `client→server`, `server→client`, `identifier`.
    pub fn arrow(self) -> &'static str {
        match self {
            Direction::ClientToServer => "client→server",
            Direction::ServerToClient => "server→client",
            Direction::Identifier => "identifier",
        }
    }
}

/// Where a schema sits, which decides its direction and its rule-ID prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope {
    /// Subscription params.
    Param,
    /// An action's request.
    Request,
    /// An event's payload.
    Payload,
    /// An action's reply.
    Reply,
    /// The JWT claims.
    Claims,
}

impl Scope {
    /// The rule-ID prefix.
    pub fn prefix(self) -> &'static str {
        match self {
            Scope::Param => "PARAM",
            Scope::Request => "REQUEST",
            Scope::Payload => "PAYLOAD",
            Scope::Reply => "REPLY",
            Scope::Claims => "CLAIMS",
        }
    }

    /// Who reads data of this schema.
    pub fn direction(self) -> Direction {
        match self {
            Scope::Param | Scope::Request | Scope::Claims => Direction::ClientToServer,
            Scope::Payload | Scope::Reply => Direction::ServerToClient,
        }
    }
}

/// The verdict of a rule in one direction, with its notes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    /// The verdict.
    pub verdict: Verdict,
    /// +SRC: wire-safe, but regenerated Rust/TypeScript types change.
    pub src: bool,
    /// SAFE\*: roll servers out before clients use it (new clients may reach old servers).
    pub rollout: bool,
    /// How to fix or ship it.
    pub hint: &'static str,
}

/// One row of the table.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    /// The change.
    pub kind: Kind,
    /// The rule ID (schema-level rules: without the scope prefix).
    pub id: &'static str,
    /// The row of §6 it implements.
    pub row: &'static str,
    /// Verdict when the server reads (name-level rules: the verdict).
    pub c2s: Entry,
    /// Verdict when old clients read (name-level rules: same as `c2s`).
    pub s2c: Entry,
}

macro_rules! kinds {
    ($($kind:ident),* $(,)?) => {
        /// Every kind of change the checker reports.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Kind { $(#[allow(missing_docs)] $kind),* }
        impl Kind {
            /// Every kind, in table order.
            pub const ALL: &'static [Kind] = &[$(Kind::$kind),*];
        }
    };
}

// Order matters: schema-level kinds come first ([`Kind::is_schema`]).
kinds! {
    // §6.1, payload and schema changes.
    PropertyAdded, PropertyAddedToOpenObject, RequiredAdded, PropertyRemoved, PropertyRemovedFromOpenObject,
    RequiredRemoved, RequiredRemovedFromOpenObject, PropertyRenamed, BecameRequired, BecameOptional,
    EnumValueAdded, ExtensibleEnumValueAdded, EnumValueRemoved, EnumAdded, EnumRemoved, ExtensibleEnumRemoved,
    ExtensibilityChanged, ConstAdded, ConstChanged, ConstRemoved, TypeWidened, TypeNarrowed, TypeChanged,
    BecameNullable, BecameNotNullable, IntegerAccepted, IntegerNoLongerAccepted, AdditionalPropertiesOpened, AdditionalPropertiesClosed,
    FormatAdded, FormatRemoved, FormatChanged, PatternAdded, PatternRemoved, PatternWidened, PatternNarrowed, PatternRespelled, PatternChanged, PatternUndecided,
    MinIncreased, MinDecreased, MaxDecreased, MaxIncreased, BoundAdded, BoundRemoved,
    MultipleOfAdded, MultipleOfTightened, MultipleOfRelaxed, MultipleOfChanged, MultipleOfRemoved,
    UniqueItemsAdded, UniqueItemsRemoved, OneOfVariantAdded, ExtensibleOneOfVariantAdded, OneOfVariantRemoved,
    OneOfOverlappingVariantAdded, OneOfOverlappingVariantRemoved, AllOfMemberAdded, AllOfMemberRemoved,
    DefaultChanged, Deprecated, TypeRenamed, OpaqueChanged, UnsupportedKeywordChanged,
    // §6.2, name-level changes.
    ChannelAdded, ChannelNoDelete, StabilityLowered, EventAdded, EventNoDelete, EventNoDeleteUnlessReserved,
    EventDeprecated, PublishToAdded, PublishToNoDelete, ActionAdded, ActionNoDelete, ActionNoDeleteUnlessReserved,
    ActionReplyAdded, ActionReplyRemoved, ActionErrorAdded, ActionErrorRemoved, UndeclaredParamsIgnored, UndeclaredParamsRefused, ParamNoDeleteUnlessReserved,
    ReservedNoDelete, ReservedNoReuse, StreamKeyAdded, StreamKeyAddedForNewParams, StreamKeyRemoved, StreamWhenChanged, StreamWhenHoldsAsBefore, StreamRenamed,
    AuthLooser, AuthNotStricter, AuthChanged,
}

const fn e(verdict: Verdict, hint: &'static str) -> Entry {
    Entry { verdict, src: false, rollout: false, hint }
}

const fn src(verdict: Verdict, hint: &'static str) -> Entry {
    Entry { verdict, src: true, rollout: false, hint }
}

const fn rollout(hint: &'static str) -> Entry {
    Entry { verdict: Verdict::Safe, src: false, rollout: true, hint }
}

use Verdict::{Break, Safe, Warn};

const fn both(kind: Kind, id: &'static str, row: &'static str, c2s: Entry, s2c: Entry) -> Rule {
    Rule { kind, id, row, c2s, s2c }
}

const fn name(kind: Kind, id: &'static str, row: &'static str, entry: Entry) -> Rule {
    Rule { kind, id, row, c2s: entry, s2c: entry }
}

const OPTIONAL_INSTEAD: &str = "add it as an optional property and default it on the server";
const DEPRECATE_FIRST: &str = "keep it, marked `deprecated: true`, until the support window ends; then remove it and list it under `reserved`";
const READERS_IGNORE: &str = "none: readers ignore what they do not know";
const NEW_NAME: &str = "add a new field (or event) with the new shape and deprecate the old one; clients built against the old contract cannot read this";
const WIDEN_ONLY: &str = "the server must keep accepting what it accepted: loosen constraints, never tighten them";
const NARROW_ONLY: &str = "old clients validate against the old contract: only narrow what the server sends, or publish a new field";

/// The table. Row numbers refer to §6.1 (`6.1#8`) and §6.2 of the research notes.
pub const RULES: &[Rule] = &[
    both(Kind::PropertyAdded, "PROPERTY_ADDED", "6.1#1", rollout("roll servers out before clients send it"), e(Safe, READERS_IGNORE)),
    both(Kind::PropertyAddedToOpenObject, "PROPERTY_ADDED_TO_OPEN_OBJECT", "6.1#1", e(Warn, "old clients may already send this key with another shape (the object was open); confirm none does"), e(Safe, READERS_IGNORE)),
    both(Kind::RequiredAdded, "REQUIRED_ADDED", "6.1#2", e(Break, OPTIONAL_INSTEAD), e(Safe, READERS_IGNORE)),
    both(Kind::PropertyRemoved, "PROPERTY_REMOVED", "6.1#3", e(Break, DEPRECATE_FIRST), src(Warn, "clients that read it get `undefined`: deprecate it first, then remove it and list it under `reserved`")),
    both(Kind::PropertyRemovedFromOpenObject, "PROPERTY_REMOVED_FROM_OPEN_OBJECT", "6.1#3", e(Warn, "still accepted as an unknown key but no longer checked or used: deprecate it first"), src(Warn, "clients that read it get `undefined`: deprecate it first")),
    both(Kind::RequiredRemoved, "REQUIRED_REMOVED", "6.1#4", e(Break, DEPRECATE_FIRST), e(Break, "old clients rely on it: keep sending it until the support window ends")),
    both(Kind::RequiredRemovedFromOpenObject, "REQUIRED_REMOVED_FROM_OPEN_OBJECT", "6.1#4", e(Warn, "still accepted as an unknown key but no longer checked or used: deprecate it first"), e(Break, "old clients rely on it: keep sending it until the support window ends")),
    both(Kind::PropertyRenamed, "PROPERTY_RENAMED", "6.1#5", e(Break, "keep the old name, add the new one next to it, and deprecate the old one"), e(Break, "send both names during the support window, then deprecate the old one")),
    both(Kind::BecameRequired, "BECAME_REQUIRED", "6.1#6", e(Break, "keep it optional and default it on the server"), e(Safe, READERS_IGNORE)),
    both(Kind::BecameOptional, "BECAME_OPTIONAL", "6.1#7", e(Safe, "none: the server accepts more"), e(Break, "old clients rely on it: keep it required")),
    both(Kind::EnumValueAdded, "ENUM_VALUE_ADDED", "6.1#8", rollout("roll servers out before clients send the new value"), e(Break, "old clients reject unknown values: add a new field, or mark the enum `x-extensible-enum: true` in a major release first")),
    both(Kind::ExtensibleEnumValueAdded, "EXTENSIBLE_ENUM_VALUE_ADDED", "6.1#8", rollout("roll servers out before clients send the new value"), src(Safe, "none: the enum is `x-extensible-enum`, clients have a catch-all")),
    both(Kind::EnumValueRemoved, "ENUM_VALUE_REMOVED", "6.1#9", e(Break, "keep accepting the value (deprecate it in the description) until the support window ends"), src(Safe, "regenerate: comparisons against the removed literal stop compiling")),
    both(Kind::EnumAdded, "ENUM_ADDED", "6.1#10", e(Break, WIDEN_ONLY), src(Safe, "regenerate: the type becomes a union of literals")),
    both(Kind::EnumRemoved, "ENUM_REMOVED", "6.1#11", src(Safe, "regenerate: the type becomes a plain string"), e(Break, "old clients reject values outside the enum: keep the enum, or make it `x-extensible-enum` in a major release first")),
    both(Kind::ExtensibleEnumRemoved, "EXTENSIBLE_ENUM_REMOVED", "6.1#11", src(Safe, "regenerate: the type becomes a plain string"), src(Safe, "none: the enum was `x-extensible-enum`, clients have a catch-all")),
    both(Kind::ExtensibilityChanged, "EXTENSIBILITY_CHANGED", "6.1#8", src(Safe, "regenerate: the catch-all arm appears or goes"), src(Safe, "regenerate; only values added while the baseline was extensible are safe")),
    both(Kind::ConstAdded, "CONST_ADDED", "6.1#12", e(Break, WIDEN_ONLY), e(Safe, "none: the server sends one value the old schema allowed")),
    both(Kind::ConstChanged, "CONST_CHANGED", "6.1#12", e(Break, NEW_NAME), e(Break, NEW_NAME)),
    both(Kind::ConstRemoved, "CONST_REMOVED", "6.1#12", e(Safe, "none: the server accepts more"), e(Break, NARROW_ONLY)),
    both(Kind::TypeWidened, "TYPE_WIDENED", "6.1#13", src(Safe, "regenerate: e.g. an integer becomes a float in Rust"), e(Break, NARROW_ONLY)),
    both(Kind::TypeNarrowed, "TYPE_NARROWED", "6.1#14", e(Break, WIDEN_ONLY), src(Safe, "regenerate: the generated type narrows")),
    both(Kind::TypeChanged, "TYPE_CHANGED", "6.1#15", e(Break, NEW_NAME), e(Break, NEW_NAME)),
    both(Kind::BecameNullable, "BECAME_NULLABLE", "6.1#16", e(Safe, "none: the server accepts null as well"), e(Break, "old clients do not expect null: omit the field or send a default instead")),
    both(Kind::BecameNotNullable, "BECAME_NOT_NULLABLE", "6.1#17", e(Break, "keep accepting null and default it on the server"), e(Safe, "none: the server stops sending null")),
    both(Kind::IntegerAccepted, "INTEGER_ACCEPTED", "6.1#13", src(Safe, "none: the server reads the integer as the text the string accepted, so keys and resources stay the same; regenerate (the TypeScript type becomes `string | number`)"), e(Break, NARROW_ONLY)),
    both(Kind::IntegerNoLongerAccepted, "INTEGER_NO_LONGER_ACCEPTED", "6.1#14", e(Break, "clients sending the id as a number get `invalid_params`: keep `x-accept-integer`"), src(Safe, "regenerate: the type narrows to a string")),
    both(Kind::AdditionalPropertiesOpened, "ADDITIONAL_PROPERTIES_OPENED", "6.1#18", e(Safe, "none: the server accepts more keys"), src(Warn, "readers get keys they never saw; regenerate (the type gains a map of extra keys)")),
    both(Kind::AdditionalPropertiesClosed, "ADDITIONAL_PROPERTIES_CLOSED", "6.1#19", e(Break, "clients sending extra keys get rejected: keep the object open unless telemetry shows none"), e(Safe, "none: the server sends fewer keys")),
    both(Kind::FormatAdded, "FORMAT_ADDED", "6.1#20", e(Break, "the validators assert formats: values the server accepted may now fail; add a new field instead"), src(Safe, "regenerate: the type may become e.g. a UUID")),
    both(Kind::FormatRemoved, "FORMAT_REMOVED", "6.1#21", src(Safe, "regenerate: the type becomes a plain string"), src(Break, "old clients may parse the value (e.g. as a date-time): keep the format, or publish a new field")),
    both(Kind::FormatChanged, "FORMAT_CHANGED", "6.1#22", e(Break, NEW_NAME), e(Break, NEW_NAME)),
    both(Kind::PatternAdded, "PATTERN_ADDED", "6.1#23", e(Break, WIDEN_ONLY), e(Safe, "none: the server sends a subset")),
    both(Kind::PatternRemoved, "PATTERN_REMOVED", "6.1#24", e(Safe, "none: the server accepts more"), e(Break, NARROW_ONLY)),
    both(Kind::PatternWidened, "PATTERN_WIDENED", "6.1#25", e(Safe, "none: the server accepts every value it accepted, and more"), e(Break, NARROW_ONLY)),
    both(Kind::PatternNarrowed, "PATTERN_NARROWED", "6.1#25", e(Break, WIDEN_ONLY), e(Safe, "none: the server sends a subset")),
    both(Kind::PatternRespelled, "PATTERN_RESPELLED", "6.1#25", e(Safe, "none: both patterns accept exactly the same strings"), e(Safe, "none: both patterns accept exactly the same strings")),
    both(Kind::PatternChanged, "PATTERN_CHANGED", "6.1#25", e(Break, "keep accepting what the old pattern accepted: use a pattern that includes it (e.g. `old|new`)"), e(Break, "old clients expect the old shape: only narrow the pattern, or publish a new field")),
    both(Kind::PatternUndecided, "PATTERN_UNDECIDED", "6.1#25", e(Warn, "the checker cannot compare these patterns (see why): confirm every old value still matches, or simplify the pattern"), e(Warn, "the checker cannot compare these patterns (see why): confirm every new value matched the old pattern, or simplify the pattern")),
    both(Kind::MinIncreased, "MIN_INCREASED", "6.1#26", e(Break, WIDEN_ONLY), e(Safe, "none: the server sends a subset")),
    both(Kind::MinDecreased, "MIN_DECREASED", "6.1#27", e(Safe, "none: the server accepts more"), e(Break, NARROW_ONLY)),
    both(Kind::MaxDecreased, "MAX_DECREASED", "6.1#28", e(Break, WIDEN_ONLY), e(Safe, "none: the server sends a subset")),
    both(Kind::MaxIncreased, "MAX_INCREASED", "6.1#29", e(Safe, "none: the server accepts more"), e(Break, NARROW_ONLY)),
    both(Kind::BoundAdded, "BOUND_ADDED", "6.1#30", e(Break, "values the server accepted may now fail: only add a bound above every value observed, with an ignore entry"), e(Safe, "none: the server sends a subset")),
    both(Kind::BoundRemoved, "BOUND_REMOVED", "6.1#31", e(Safe, "none: the server accepts more"), e(Break, NARROW_ONLY)),
    both(Kind::MultipleOfAdded, "MULTIPLE_OF_ADDED", "6.1#32", e(Break, WIDEN_ONLY), e(Safe, "none: the server sends a subset")),
    both(Kind::MultipleOfTightened, "MULTIPLE_OF_TIGHTENED", "6.1#32", e(Break, WIDEN_ONLY), e(Safe, "none: every multiple of the new value is a multiple of the old")),
    both(Kind::MultipleOfRelaxed, "MULTIPLE_OF_RELAXED", "6.1#32", e(Safe, "none: the new value divides the old"), e(Break, NARROW_ONLY)),
    both(Kind::MultipleOfChanged, "MULTIPLE_OF_CHANGED", "6.1#32", e(Break, "use a divisor of the old `multipleOf`"), e(Break, "use a multiple of the old `multipleOf`")),
    both(Kind::MultipleOfRemoved, "MULTIPLE_OF_REMOVED", "6.1#31", e(Safe, "none: the server accepts more"), e(Break, NARROW_ONLY)),
    both(Kind::UniqueItemsAdded, "UNIQUE_ITEMS_ADDED", "6.1#33", e(Break, WIDEN_ONLY), e(Safe, "none: the server sends a subset")),
    both(Kind::UniqueItemsRemoved, "UNIQUE_ITEMS_REMOVED", "6.1#33", e(Safe, "none: the server accepts more"), e(Break, NARROW_ONLY)),
    both(Kind::OneOfVariantAdded, "ONE_OF_VARIANT_ADDED", "6.1#34", e(Safe, "none: the variants are told apart by a const discriminator"), e(Break, "old clients have no arm for it: mark the union `x-extensible-union: true` (with an Unknown arm) in a major release first")),
    both(Kind::ExtensibleOneOfVariantAdded, "EXTENSIBLE_ONE_OF_VARIANT_ADDED", "6.1#34", e(Safe, "none: the variants are told apart by a const discriminator"), src(Safe, "none: the union is `x-extensible-union`, clients have an Unknown arm")),
    both(Kind::OneOfVariantRemoved, "ONE_OF_VARIANT_REMOVED", "6.1#35", e(Break, "keep accepting the variant until the support window ends"), src(Safe, "regenerate: the union loses an arm")),
    both(Kind::OneOfOverlappingVariantAdded, "ONE_OF_OVERLAPPING_VARIANT_ADDED", "6.1#34", e(Warn, "without a const discriminator a value may now match two variants, which `oneOf` rejects: add a discriminator"), e(Break, "old clients have no arm for it; add a const discriminator and `x-extensible-union`")),
    both(Kind::OneOfOverlappingVariantRemoved, "ONE_OF_OVERLAPPING_VARIANT_REMOVED", "6.1#35", e(Break, "keep accepting the variant until the support window ends"), src(Warn, "without a const discriminator a value may have matched two old variants: add a discriminator")),
    both(Kind::AllOfMemberAdded, "ALL_OF_MEMBER_ADDED", "6.1#36", e(Break, WIDEN_ONLY), e(Safe, "none: the server sends a subset")),
    both(Kind::AllOfMemberRemoved, "ALL_OF_MEMBER_REMOVED", "6.1#36", e(Warn, "the server checks less: confirm the backend still copes"), e(Break, NARROW_ONLY)),
    both(Kind::DefaultChanged, "DEFAULT_CHANGED", "6.1#37", e(Warn, "clients that omit the field now get another behaviour: announce it"), e(Safe, "none: `default` is an annotation for readers")),
    both(Kind::Deprecated, "DEPRECATED", "6.1#38", e(Safe, "start the sunset clock: remove it after the support window"), e(Safe, "start the sunset clock: remove it after the support window")),
    both(Kind::TypeRenamed, "TYPE_RENAMED", "6.1#39", src(Safe, "regenerate: the generated type name changes, the wire does not"), src(Safe, "regenerate: the generated type name changes, the wire does not")),
    both(Kind::OpaqueChanged, "OPAQUE_CHANGED", "6.1#39", src(Safe, "regenerate: the value becomes (or stops being) untyped JSON"), src(Safe, "regenerate: the value becomes (or stops being) untyped JSON")),
    both(Kind::UnsupportedKeywordChanged, "UNSUPPORTED_KEYWORD_CHANGED", "6.1", e(Warn, "the checker does not model this keyword: review the change by hand"), e(Warn, "the checker does not model this keyword: review the change by hand")),
    name(Kind::ChannelAdded, "CHANNEL_ADDED", "6.2 add channel", rollout("roll servers out before clients subscribe")),
    name(Kind::ChannelNoDelete, "CHANNEL_NO_DELETE", "6.2 remove/rename channel", e(Break, "subscriptions now fail: mark its events deprecated, wait out the support window, then delete it")),
    name(Kind::StabilityLowered, "STABILITY_LOWERED", "6.2 stability", e(Warn, "a stable channel keeps its guarantees: its findings stop failing CI from now on; confirm that is intended")),
    name(Kind::EventAdded, "EVENT_ADDED", "6.2 add event", e(Warn, "generated clients route it to `onUnknown`; strict decoders reject it")),
    name(Kind::EventNoDelete, "EVENT_NO_DELETE", "6.2 remove event", src(Break, "clients wait for it forever: mark it `deprecated: true` first, delete it after the support window")),
    name(Kind::EventNoDeleteUnlessReserved, "EVENT_NO_DELETE_UNLESS_RESERVED", "6.2 remove event", e(Break, "add the name to `reserved.events` so it never comes back with another shape")),
    name(Kind::EventDeprecated, "EVENT_DEPRECATED", "6.1#38", e(Safe, "start the sunset clock: delete it after the support window, then reserve its name")),
    name(Kind::PublishToAdded, "PUBLISH_TO_ADDED", "6.2 add publish_to level", e(Safe, "none: the build lint guarantees a channel listens there")),
    name(Kind::PublishToNoDelete, "PUBLISH_TO_NO_DELETE", "6.2 remove publish_to level", e(Break, "subscribers at that level stop receiving the event: keep publishing there until the support window ends")),
    name(Kind::ActionAdded, "ACTION_ADDED", "6.2 add action", rollout("roll servers out first: new clients calling old servers get `unknown_action`")),
    name(Kind::ActionNoDelete, "ACTION_NO_DELETE", "6.2 remove/rename action", e(Break, "old clients still call it: keep it until the support window ends")),
    name(Kind::ActionNoDeleteUnlessReserved, "ACTION_NO_DELETE_UNLESS_RESERVED", "6.2 remove/rename action", e(Break, "add the name to `reserved.actions` so it never comes back with another shape")),
    name(Kind::ActionReplyAdded, "ACTION_REPLY_ADDED", "6.2 action gains a result", e(Safe, "none: clients ignore unmatched replies")),
    name(Kind::ActionReplyRemoved, "ACTION_REPLY_REMOVED", "6.2 action loses its result", e(Break, "old clients wait for the reply: keep answering it")),
    name(Kind::ActionErrorAdded, "ACTION_ERROR_ADDED", "6.2 add action error code", e(Break, "old clients know a closed list of codes: answer an existing code, or bump the major version")),
    name(Kind::ActionErrorRemoved, "ACTION_ERROR_REMOVED", "6.2 remove action error code", src(Safe, "regenerate: the error union loses a code")),
    name(Kind::UndeclaredParamsIgnored, "UNDECLARED_PARAMS_IGNORED", "6.1#18", e(Safe, "none: the server accepts more identifiers; the extra keys reach neither authorization nor stream keys")),
    name(Kind::UndeclaredParamsRefused, "UNDECLARED_PARAMS_REFUSED", "6.1#19", e(Break, "clients sending other keys get `invalid_params`: keep `undeclared_params: ignore` unless you know none does")),
    name(Kind::ParamNoDeleteUnlessReserved, "PARAM_NO_DELETE_UNLESS_RESERVED", "6.2 remove/rename param", e(Break, "add the name to `reserved.params` so it never comes back with another meaning")),
    name(Kind::ReservedNoDelete, "RESERVED_NO_DELETE", "6.2 reserved", e(Break, "keep the name reserved: deployed clients may still use it with its old shape")),
    name(Kind::ReservedNoReuse, "RESERVED_NO_REUSE", "6.2 reserved", e(Break, "choose a new name: this one was removed and deployed clients may use it with its old shape")),
    name(Kind::StreamKeyAdded, "STREAM_KEY_ADDED", "6.2 stream key", e(Warn, "clients are unaffected, but a mixed-version fleet and external publishers are: dual-publish during the rollout")),
    name(Kind::StreamKeyAddedForNewParams, "STREAM_KEY_ADDED_FOR_NEW_PARAMS", "6.2 stream key", e(Safe, "none: only subscriptions the baseline refused (new clients) listen there")),
    name(Kind::StreamKeyRemoved, "STREAM_KEY_REMOVED", "6.2 stream key", e(Warn, "clients are unaffected, but a mixed-version fleet and external publishers are: dual-subscribe during the rollout")),
    name(Kind::StreamWhenChanged, "STREAM_WHEN_CHANGED", "6.2 stream key", e(Warn, "subscriptions listen to other streams: dual-subscribe during the rollout")),
    name(Kind::StreamWhenHoldsAsBefore, "STREAM_WHEN_HOLDS_AS_BEFORE", "6.2 stream key", e(Safe, "none: the condition decides alike for every subscription the baseline accepts")),
    name(Kind::StreamRenamed, "STREAM_RENAMED", "6.2 stream key", e(Break, "keep the old key next to the new one for the support window (both in `streams`, both templates in `publish_to`), then drop the old one (a STREAM_KEY_REMOVED warning)")),
    name(Kind::AuthLooser, "AUTH_LOOSER", "6.2 authorization looser", e(Safe, "get a security review: more principals may subscribe")),
    name(Kind::AuthNotStricter, "AUTH_NOT_STRICTER", "6.2 authorization stricter", e(Break, "existing subscriptions are dropped at re-check: needs security and product approval")),
    name(Kind::AuthChanged, "AUTH_CHANGED", "6.2 authorization", e(Warn, "the checker cannot tell stricter from looser: review who gains or loses access")),
];

/// What a schema-level change does to the values a reader accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// It accepts more.
    Wider,
    /// It accepts less.
    Narrower,
    /// Neither: some values are refused now and others accepted.
    Changed,
    /// The same values (names, annotations, generated types only).
    Same,
    /// Not modelled or not decided.
    Unknown,
}

/// The one principle every schema-level verdict follows: in a direction, a change that
/// loses values its reader relied on (client→server: values the server accepted; server→
/// client: the old contract of what the server sends) is a BREAK, one that loses none is
/// SAFE, one the checker cannot decide a WARN. The exceptions below are WARNs, each with
/// the reason the values alone do not tell the whole story.
pub fn principled(effect: Effect, direction: Direction) -> Verdict {
    let loses = match (effect, direction) {
        (Effect::Unknown, _) => return Warn,
        (Effect::Changed, _) => true,
        (Effect::Narrower, Direction::ClientToServer) | (Effect::Wider, Direction::ServerToClient) => true,
        _ => false,
    };
    if loses {
        Break
    } else {
        Safe
    }
}

/// Schema-level verdicts that are WARNs against [`principled`], and why.
pub const REVIEWED_EXCEPTIONS: &[(Kind, Direction, &str)] = &[
    (Kind::PropertyAddedToOpenObject, Direction::ClientToServer, "the key held anything before; only a client that already sends it with another shape is refused"),
    (Kind::PropertyRemoved, Direction::ServerToClient, "the server sends less, but readers of the optional field now always get `undefined`"),
    (Kind::PropertyRemovedFromOpenObject, Direction::ClientToServer, "still accepted, but no longer checked or used"),
    (Kind::PropertyRemovedFromOpenObject, Direction::ServerToClient, "the server stops sending it; only the open object lets the key hold anything"),
    (Kind::RequiredRemovedFromOpenObject, Direction::ClientToServer, "still accepted, but no longer checked or used"),
    (Kind::AdditionalPropertiesOpened, Direction::ServerToClient, "a tolerant reader ignores the new keys, but they reach it (and its regenerated map type)"),
    (Kind::OneOfOverlappingVariantAdded, Direction::ClientToServer, "only a value matching two variants is refused now"),
    (Kind::OneOfOverlappingVariantRemoved, Direction::ServerToClient, "only a value that matched two old variants is new"),
    (Kind::AllOfMemberRemoved, Direction::ClientToServer, "the server accepts more, but checks less for the backend"),
    (Kind::DefaultChanged, Direction::ClientToServer, "the same values, but a request that omits the field now means something else"),
];

impl Kind {
    /// What a schema-level change does to the values read in `direction` (server→client:
    /// as a tolerant reader sees them); `None` for name-level kinds. Every schema kind is
    /// listed, so a new one cannot miss its principle.
    pub fn effect(self, direction: Direction) -> Option<Effect> {
        use Effect::*;
        let reader = direction == Direction::ServerToClient;
        Some(match self {
            // Unknown keys are ignored by a tolerant reader: a closed object's new key, or an
            // open object's, is no news to it.
            Kind::PropertyAdded => if reader { Same } else { Wider },
            Kind::PropertyAddedToOpenObject => if reader { Same } else { Narrower },
            Kind::AdditionalPropertiesOpened => if reader { Same } else { Wider },
            // Unknown values of extensible enums and unions have a catch-all.
            Kind::ExtensibleEnumValueAdded | Kind::ExtensibleEnumRemoved | Kind::ExtensibleOneOfVariantAdded => if reader { Same } else { Wider },
            Kind::RequiredAdded | Kind::PropertyRemoved | Kind::BecameRequired | Kind::EnumValueRemoved | Kind::EnumAdded | Kind::ConstAdded | Kind::TypeNarrowed
            | Kind::BecameNotNullable | Kind::IntegerNoLongerAccepted | Kind::AdditionalPropertiesClosed | Kind::FormatAdded | Kind::PatternAdded | Kind::PatternNarrowed
            | Kind::MinIncreased | Kind::MaxDecreased | Kind::BoundAdded | Kind::MultipleOfAdded | Kind::MultipleOfTightened | Kind::UniqueItemsAdded
            | Kind::OneOfVariantRemoved | Kind::AllOfMemberAdded => Narrower,
            Kind::PropertyRemovedFromOpenObject | Kind::RequiredRemovedFromOpenObject | Kind::BecameOptional | Kind::EnumValueAdded | Kind::EnumRemoved | Kind::ConstRemoved
            | Kind::TypeWidened | Kind::BecameNullable | Kind::IntegerAccepted | Kind::FormatRemoved | Kind::PatternRemoved | Kind::PatternWidened | Kind::MinDecreased
            | Kind::MaxIncreased | Kind::BoundRemoved | Kind::MultipleOfRelaxed | Kind::MultipleOfRemoved | Kind::UniqueItemsRemoved | Kind::OneOfVariantAdded
            | Kind::AllOfMemberRemoved => Wider,
            Kind::RequiredRemoved | Kind::PropertyRenamed | Kind::ConstChanged | Kind::TypeChanged | Kind::FormatChanged | Kind::PatternChanged | Kind::MultipleOfChanged
            | Kind::OneOfOverlappingVariantAdded | Kind::OneOfOverlappingVariantRemoved => Changed,
            Kind::ExtensibilityChanged | Kind::PatternRespelled | Kind::DefaultChanged | Kind::Deprecated | Kind::TypeRenamed | Kind::OpaqueChanged => Same,
            Kind::PatternUndecided | Kind::UnsupportedKeywordChanged => Unknown,
            _ => return None,
        })
    }

    /// Its row in [`RULES`].
    pub fn rule(self) -> &'static Rule {
        RULES.iter().find(|r| r.kind == self).expect("every kind has a row in RULES")
    }

    /// True for changes found inside a schema (the rule ID takes a scope prefix).
    pub fn is_schema(self) -> bool {
        self <= Kind::UnsupportedKeywordChanged
    }

    /// The verdict and notes in `direction` (name-level rules ignore it).
    pub fn entry(self, direction: Direction) -> Entry {
        let rule = self.rule();
        match direction {
            Direction::ServerToClient => rule.s2c,
            Direction::ClientToServer | Direction::Identifier => rule.c2s,
        }
    }

    /// The verdict in `direction`.
    pub fn verdict(self, direction: Direction) -> Verdict {
        self.entry(direction).verdict
    }

    /// The direction of a name-level rule (schema-level rules take theirs from the scope).
    pub fn name_direction(self) -> Direction {
        match self {
            Kind::ActionErrorAdded | Kind::ActionErrorRemoved => Direction::ServerToClient,
            Kind::UndeclaredParamsIgnored | Kind::UndeclaredParamsRefused => Direction::ClientToServer,
            _ => Direction::Identifier,
        }
    }

    /// The rule ID, prefixed with the scope for schema-level rules.
    pub fn id(self, scope: Option<Scope>) -> String {
        match scope {
            Some(s) if self.is_schema() => format!("{}_{}", s.prefix(), self.rule().id),
            _ => self.rule().id.to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_exactly_one_row_and_ids_are_unique() {
        for k in Kind::ALL {
            assert_eq!(RULES.iter().filter(|r| r.kind == *k).count(), 1, "{k:?}");
        }
        let mut ids: Vec<&str> = RULES.iter().map(|r| r.id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), RULES.len());
        assert_eq!(RULES.len(), Kind::ALL.len());
    }
}
