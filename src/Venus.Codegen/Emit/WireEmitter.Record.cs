using Venus.Codegen.Model;

namespace Venus.Codegen.Emit;

/// <summary>
/// Wire codecs (<see cref="WireEmitter"/>): the recording fast path (issue 12). A "flat" vkCmd* is one
/// whose wire size follows from its by-value parameters alone: scalars, enums, handles, fixed arrays of
/// scalars, and arrays of scalars, handles or flat structs (no sType, pNext, pointer or union inside)
/// whose count is itself a by-value parameter. For those the generator emits a constant-folding
/// <c>Size</c> and an <c>Encode</c> over <c>VnRawWriter</c> (one reserve, then unchecked writes, all
/// inlined into the ICD export); the same field code as the checked encoder writes the same bytes.
/// Everything else keeps the checked <c>VnEncoder</c> path, whose sizes depend on app memory.
/// </summary>
public sealed partial class WireEmitter
{
    HashSet<string>? _rawStructs;

    static bool IsRecordingCommand(CommandModel c) =>
        c.Name.StartsWith("vkCmd", StringComparison.Ordinal) && c.Params.Count > 0 && c.Params[0].Elem.VkName == "VkCommandBuffer";

    /// <summary>A struct of only scalars, enums, handles, fixed scalar arrays and flat structs: a constant wire size.</summary>
    public bool IsFlatStruct(StructModel s) =>
        !s.IsUnion && !s.HasSType && !s.HasPNext && !s.HasBitfields && s.Encodable && _native.NativeStructNames.Contains(s.Name)
        && s.Fields.All(f => f.Unsupported == null && f.Shape switch
        {
            FieldShape.Value => f.Elem.Kind is TypeKind.Scalar or TypeKind.Enum or TypeKind.Handle
                || (f.Elem.Kind == TypeKind.Struct && f.Elem.Struct != null && IsFlatStruct(f.Elem.Struct)),
            FieldShape.FixedArray => f.Elem.Kind is TypeKind.Scalar or TypeKind.Enum or TypeKind.Handle,
            _ => false,
        });

    /// <summary>Wire bytes of a flat struct (what its generated Size returns).</summary>
    public int FlatWireSize(StructModel s) => s.Fields.Sum(f => f.Shape == FieldShape.FixedArray
        ? FixedArrayWireSize(f)
        : f.Elem.Kind == TypeKind.Struct ? FlatWireSize(f.Elem.Struct!) : f.Elem.Kind == TypeKind.Handle ? 8 : f.Elem.WireSize);

    static int FixedArrayWireSize(FieldModel f) =>
        f.Elem.Kind == TypeKind.Handle ? 8 + 8 * f.FixedLen : 8 + (((f.FixedLen * Math.Max(f.Elem.NativeSize, 1)) + 3) & ~3);

    /// <summary>The by-value parameter that counts array parameter <paramref name="p"/>, if it has one.</summary>
    static FieldModel? CountParam(CommandModel c, FieldModel p) =>
        p.LenName == null || p.Condition != null ? null
        : c.Params.FirstOrDefault(q => q.Name == p.LenName && q.Shape == FieldShape.Value && q.Elem.Kind is TypeKind.Scalar or TypeKind.Enum);

    bool IsFlatParam(CommandModel c, FieldModel p)
    {
        var plan = Plan(p);
        if (plan.Output || p.Unsupported != null) return false;
        return plan.Kind switch
        {
            WireKind.Scalar or WireKind.Handle => true,
            WireKind.FixedArray => plan.Elem.Kind is TypeKind.Scalar or TypeKind.Enum,
            WireKind.Array => CountParam(c, p) != null
                && (plan.Elem.Kind is TypeKind.Scalar or TypeKind.Enum or TypeKind.Handle
                    || (plan.Elem.Kind == TypeKind.Struct && plan.ElemIsStruct && IsFlatStruct(plan.Elem.Struct!))),
            WireKind.Blob => CountParam(c, p) != null,
            _ => false,
        };
    }

    /// <summary>A vkCmd* the recording fast path encodes (see the type's summary).</summary>
    public bool IsFlatCommand(CommandModel c) => IsRecordingCommand(c) && c.Params.All(p => IsFlatParam(c, p));

    /// <summary>Flat structs some flat command's arrays carry (directly or nested): they get a VnRawWriter encoder.</summary>
    bool NeedsRawEncode(StructModel s)
    {
        if (_rawStructs == null)
        {
            _rawStructs = new HashSet<string>(StringComparer.Ordinal);
            void Add(StructModel x)
            {
                if (!_rawStructs.Add(x.Name)) return;
                foreach (var f in x.Fields.Where(f => f.Shape == FieldShape.Value && f.Elem.Struct != null)) Add(f.Elem.Struct!);
            }
            foreach (var c in WireCommands().Where(IsFlatCommand))
                foreach (var p in c.Params.Where(p => p.Elem.Struct != null)) Add(p.Elem.Struct!);
        }
        return _rawStructs.Contains(s.Name);
    }

    /// <summary>The VnRawWriter encoder of a flat struct: the same field code as EncodeSelf.</summary>
    void EmitRawStructEncode(CodeWriter w, StructModel s)
    {
        int tmp = _tmp;
        w.Line("[MethodImpl(MethodImplOptions.AggressiveInlining)]");
        w.Open($"public static void Encode(ref VnRawWriter e, {s.Name}* v)");
        foreach (var f in s.Fields) Field(w, s, f, "v->", Mode.Encode, translate: false);
        w.Close();
        _tmp = tmp;
    }

    /// <summary>Size of a flat command: a constant plus, per present array, count times a constant.</summary>
    void EmitFlatSize(CodeWriter w, CommandModel c, string pl)
    {
        int constant = 8;
        var arrays = new List<string>();
        foreach (var p in c.Params)
        {
            var plan = Plan(p);
            string lv = NativeEmitter.Escape(p.Name);
            var t = plan.Elem;
            switch (plan.Kind)
            {
                case WireKind.Scalar: constant += t.WireSize; break;
                case WireKind.Handle: constant += 8; break;
                case WireKind.FixedArray: constant += FixedArrayWireSize(p); break;
                default:
                    {
                        // u64 count, then the elements of a present array
                        constant += 8;
                        string len = string.Format(plan.Count!, "");
                        string bytes = plan.ElemIsStruct ? $"{FlatWireSize(t.Struct!)} * {len}"
                            : t.Kind == TypeKind.Handle ? $"8 * {len}"
                            : plan.RawCopy ? $"VnSize.Padded({len} * {plan.ElemNativeSize})"
                            : $"{t.WireSize} * {len}";
                        arrays.Add($"if ({lv} != null) n += {bytes};");
                        break;
                    }
            }
        }
        w.Line("[MethodImpl(MethodImplOptions.AggressiveInlining)]");
        w.Open($"public static ulong Size({pl}{(pl.Length > 0 ? ", " : "")}VnProtocolFilter f = null)");
        if (arrays.Count == 0) w.Line($"return {constant};");
        else
        {
            w.Line($"ulong n = {constant};");
            foreach (var a in arrays) w.Line(a);
            w.Line("return n;");
        }
        w.Close();
    }

    /// <summary>The unchecked request encoder of a flat command: the checked encoder's field code over VnRawWriter.</summary>
    void EmitRawCommandEncode(CodeWriter w, CommandModel c, string plc)
    {
        int tmp = _tmp;
        w.Line("[MethodImpl(MethodImplOptions.AggressiveInlining)]");
        w.Open($"public static void Encode(ref VnRawWriter e, VkCommandFlagBitsEXT cmdFlags{plc})");
        w.Line("e.U32((uint)Type);");
        w.Line("e.U32((uint)cmdFlags);");
        foreach (var p in c.Params) RequestParam(w, c, p, Mode.Encode);
        w.Close();
        _tmp = tmp;
    }
}
