using Venus.Codegen.Model;

namespace Venus.Codegen.Emit;

/// <summary>
/// Wire codecs: per struct (full, partial and reply-into-caller-memory forms) and per command
/// (request and reply), following venus-protocol.md §1–§2. Every function is straight-line code
/// over <c>VnEncoder</c>/<c>VnDecoder</c>: no allocation, no reflection.
/// </summary>
public sealed partial class WireEmitter
{
    enum Mode { Size, Encode, Decode, SizePartial, EncodePartial, DecodePartial, DecodeInto }

    readonly ProtocolModel _m;
    readonly NativeEmitter _native;
    int _tmp;
    /// <summary>What an early exit returns in the function being emitted ("" or " ret").</summary>
    string _ret = "";

    readonly Dictionary<FieldModel, FieldPlan> _plans = new(ReferenceEqualityComparer.Instance);
    /// <summary>Enums with a <c>VkEnumCheck</c> method (NativeEmitter.EmitEnums: 32-bit, with values).</summary>
    HashSet<string> _enumChecks => _enumChecksCache ??= _m.Reg.Enums.Values.Where(e => e.BitWidth != 64 && e.Values.Any(v => v.Alias == null)).Select(e => e.Name).ToHashSet();
    HashSet<string>? _enumChecksCache;

    /// <summary>The plan of one member or parameter (computed on first use, then shared by every emitter).</summary>
    public FieldPlan Plan(FieldModel f)
    {
        if (!_plans.TryGetValue(f, out var plan)) _plans[f] = plan = FieldPlan.Of(f, _native);
        return plan;
    }

    public WireEmitter(ProtocolModel m, NativeEmitter native)
    {
        _m = m;
        _native = native;
    }

    public IEnumerable<StructModel> WireStructs() =>
        _m.Structs.Values.Where(s => s.Used && s.Encodable && _native.NativeStructNames.Contains(s.Name)).OrderBy(s => s.Name, StringComparer.Ordinal);

    public IEnumerable<CommandModel> WireCommands() =>
        _m.Commands.Where(c => c.Encodable && CommandNative(c)).OrderBy(c => c.TypeValue);

    bool CommandNative(CommandModel c) =>
        c.Params.All(p => p.Elem.Struct == null || _native.NativeStructNames.Contains(p.Elem.Struct.Name));

    static string W(StructModel s) => s.Name + "Wire";
    string T() => "t" + (_tmp++);

    static bool IsPartialMode(Mode m) => m is Mode.SizePartial or Mode.EncodePartial or Mode.DecodePartial;
    static bool IsSize(Mode m) => m is Mode.Size or Mode.SizePartial;
    static bool IsEncode(Mode m) => m is Mode.Encode or Mode.EncodePartial;
    static bool IsDecode(Mode m) => m is Mode.Decode or Mode.DecodePartial or Mode.DecodeInto;

    static string StructFn(Mode m) => m switch
    {
        Mode.Size => "Size", Mode.Encode => "Encode", Mode.Decode => "Decode",
        Mode.SizePartial => "SizePartial", Mode.EncodePartial => "EncodePartial", Mode.DecodePartial => "DecodePartial",
        _ => "DecodeInto",
    };

    static string Args(Mode m, string ptr) => m switch
    {
        Mode.Size or Mode.SizePartial => $"({ptr}, f)",
        Mode.Encode or Mode.EncodePartial => $"(ref e, {ptr})",
        _ => $"(ref d, {ptr})",
    };
}
