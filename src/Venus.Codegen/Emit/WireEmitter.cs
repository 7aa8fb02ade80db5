using Venus.Codegen.Model;

namespace Venus.Codegen.Emit;

/// <summary>
/// Wire codecs: per struct (full, partial and reply-into-caller-memory forms) and per command
/// (request and reply), following venus-protocol.md §1–§2. Every function is straight-line code
/// over <c>VnEncoder</c>/<c>VnDecoder</c>: no allocation, no reflection.
/// </summary>
public sealed class WireEmitter
{
    enum Mode { Size, Encode, Decode, SizePartial, EncodePartial, DecodePartial, DecodeInto }

    readonly ProtocolModel _m;
    readonly NativeEmitter _native;
    int _tmp;
    /// <summary>What an early exit returns in the function being emitted ("" or " ret").</summary>
    string _ret = "";

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

    // ---- one element ---------------------------------------------------------------------------

    /// <summary>Code for one element (lvalue lv) of type t. castCs: the C# type of lv when it differs from t.Cs (enum fixed arrays).</summary>
    void Elem(CodeWriter w, TypeRef t, string lv, Mode m, bool translate, string? castCs = null, string? tagExpr = null)
    {
        switch (t.Kind)
        {
            case TypeKind.Scalar:
            case TypeKind.Enum:
                if (IsPartialMode(m)) return;
                if (IsSize(m)) w.Line($"n += {t.WireSize};");
                else if (IsEncode(m)) w.Line($"e.{t.Method}(({t.MethodCs}){lv});");
                else w.Line($"{lv} = ({castCs ?? t.Cs})d.{t.Method}();");
                return;
            case TypeKind.Handle:
                if (IsSize(m)) w.Line("n += 8;");
                else if (IsEncode(m)) w.Line($"e.Handle({lv});");
                else w.Line(translate && m == Mode.Decode ? $"{lv} = d.Handle({t.ObjectType});" : $"{lv} = d.RawHandle();");
                return;
            case TypeKind.Struct:
            case TypeKind.Union:
                {
                    var s = t.Struct!;
                    if (s.IsUnion && IsPartialMode(m)) return; // unions have no partial form (§1.6)
                    string args = Args(m, "&" + lv);
                    if (s.SelectedUnion) args = args.TrimEnd(')') + $", (int)({tagExpr ?? "0"}))";
                    string fn = StructFn(m);
                    if (!translate && m == Mode.Decode) fn = "DecodeRaw";
                    if (IsSize(m)) w.Line($"n += {W(s)}.{fn}{args};");
                    else w.Line($"{W(s)}.{fn}{args};");
                    return;
                }
            default:
                throw new InvalidOperationException($"element of kind {t.Kind}");
        }
    }

    static bool IsRawCopy(TypeRef t) => (t.Kind is TypeKind.Scalar or TypeKind.Enum) && (t.NativeSize == t.WireSize || t.NativeSize < 4);

    // ---- one field of a struct (or input parameter) --------------------------------------------

    /// <param name="pfx">receiver prefix: "v->" in structs, "a->" for decoded arguments, "" for parameters</param>
    /// <param name="output">the field is an output in this context (partial/reply rules apply)</param>
    void Field(CodeWriter w, StructModel? owner, FieldModel f, string pfx, Mode m, bool translate, Dictionary<string, string>? caps = null)
    {
        string lv = pfx + NativeEmitter.Escape(f.Name);
        string Len() => string.Format(f.LenExpr!, pfx);
        bool partial = IsPartialMode(m);
        switch (f.Shape)
        {
            case FieldShape.SType:
            case FieldShape.PNext:
                return; // handled by the struct's entry functions
            case FieldShape.AllocationCallbacks:
                if (IsSize(m)) w.Line("n += 8;");
                else if (IsEncode(m)) w.Line("e.Pointer(false);");
                else w.Line("if (d.Pointer()) { d.Fail(VnDecodeError.Unsupported); return; }");
                return;
            case FieldShape.Value:
                if (partial && f.IsLenOfArray)
                {
                    // counts inside output structs travel in the request (§1.6)
                    Elem(w, f.Elem, lv, m == Mode.SizePartial ? Mode.Size : m == Mode.EncodePartial ? Mode.Encode : Mode.Decode, translate);
                    return;
                }
                if (partial && f.Elem.Kind == TypeKind.Handle)
                {
                    Elem(w, f.Elem, lv, m == Mode.SizePartial ? Mode.Size : m == Mode.EncodePartial ? Mode.Encode : Mode.DecodeInto, false);
                    return;
                }
                Elem(w, f.Elem, lv, m, translate, null, f.Selector != null ? pfx + f.Selector : null);
                return;
            case FieldShape.FixedArray:
                FixedArray(w, f, lv, m, translate);
                return;
            case FieldShape.Pointer:
                PointerField(w, f, lv, m, translate, output: partial);
                return;
            case FieldShape.String:
                if (IsSize(m)) w.Line($"n += VnSize.String({lv});");
                else if (IsEncode(m)) w.Line($"e.String({lv});");
                else if (m == Mode.DecodeInto) w.Line("{ if (d.ArraySize() != 0) { d.Fail(VnDecodeError.ReplyTooLarge); return; } }");
                else w.Line($"{lv} = d.String();");
                return;
            case FieldShape.StringArray:
                StringArray(w, f, lv, Len(), m);
                return;
            case FieldShape.Array:
            case FieldShape.Blob:
                ArrayField(w, owner, f, lv, Len(), pfx, m, translate, output: partial || m == Mode.DecodeInto, caps);
                return;
            case FieldShape.PointerArray:
                PointerArrayField(w, f, lv, Len(), pfx, m, translate);
                return;
            case FieldShape.Skipped:
                if (m is Mode.Decode or Mode.DecodePartial) w.Line($"{lv} = null;");
                return;
        }
    }

    /// <summary>
    /// <c>const T* const*</c> with a count (inputs only): u64 count, then for each element its inner
    /// array as u64 count + elements, the inner count being vk.xml's "1" or our definitions' expression.
    /// </summary>
    void PointerArrayField(CodeWriter w, FieldModel f, string lv, string len, string pfx, Mode m, bool translate)
    {
        if (IsPartialMode(m) || m == Mode.DecodeInto) throw new InvalidOperationException($"{f.Name}: arrays of pointers are inputs only");
        var t = f.Elem;
        bool isStruct = t.Struct != null;
        var i = T(); var j = T();
        string inner = string.Format(f.InnerLenExpr!, pfx, i);
        if (IsSize(m))
        {
            w.Line("n += 8;");
            w.Open($"if ({lv} != null)");
            w.Open($"for (ulong {i} = 0; {i} < {len}; {i}++)");
            w.Line("n += 8;");
            w.Open($"if ({lv}[{i}] != null)");
            if (isStruct)
            {
                w.Open($"for (ulong {j} = 0; {j} < {inner}; {j}++)");
                Elem(w, t, $"{lv}[{i}][{j}]", m, translate);
                w.Close();
            }
            else w.Line($"n += {t.WireSize} * {inner};");
            w.Close();
            w.Close();
            w.Close();
            return;
        }
        if (IsEncode(m))
        {
            w.Open($"if ({lv} != null)");
            w.Line($"e.ArraySize({len});");
            w.Open($"for (ulong {i} = 0; {i} < {len}; {i}++)");
            w.Open($"if ({lv}[{i}] != null)");
            w.Line($"e.ArraySize({inner});");
            w.Open($"for (ulong {j} = 0; {j} < {inner}; {j}++)");
            Elem(w, t, $"{lv}[{i}][{j}]", m, translate);
            w.Close();
            w.Close();
            w.Line("else e.ArraySize(0);");
            w.Close();
            w.Close();
            w.Line("else e.ArraySize(0);");
            return;
        }
        string elemCs = t.Cs;
        int min = isStruct ? t.Struct!.MinWireSize : t.WireSize;
        var n = T(); var p = T(); var k = T(); var q = T();
        w.Open("");
        w.Line($"ulong {n} = d.ArraySize();");
        w.Open($"if ({n} != 0)");
        w.Line($"if ({n} != {len}) {{ d.Fail(VnDecodeError.ArraySizeMismatch); return{_ret}; }}");
        w.Line($"if (!d.CheckArrayFits({n}, 8)) return{_ret};");
        w.Line($"var {p} = ({elemCs}**)d.Alloc({n}, 8);");
        w.Line($"if ({p} == null) return{_ret};");
        w.Line($"{lv} = {p};");
        w.Open($"for (ulong {i} = 0; {i} < {n}; {i}++)");
        w.Line($"ulong {k} = d.ArraySize();");
        w.Line($"if ({k} != {inner}) {{ d.Fail(VnDecodeError.ArraySizeMismatch); return{_ret}; }}");
        w.Line($"if ({k} == 0) {{ {p}[{i}] = null; continue; }}");
        if (min > 0) w.Line($"if (!d.CheckArrayFits({k}, {min})) return{_ret};");
        w.Line($"var {q} = ({elemCs}*)d.Alloc({k}, (ulong)sizeof({elemCs}));");
        w.Line($"if ({q} == null) return{_ret};");
        w.Open($"for (ulong {j} = 0; {j} < {k}; {j}++)");
        Elem(w, t, $"{q}[{j}]", m, translate);
        w.Close();
        w.Line($"{p}[{i}] = {q};");
        w.Close();
        w.Close();
        w.Line(f.Optional ? $"else {lv} = null;" : $"else if ({len} != 0) {{ d.Fail(VnDecodeError.ArraySizeMismatch); return{_ret}; }}");
        w.Close();
    }

    void FixedArray(CodeWriter w, FieldModel f, string lv, Mode m, bool translate)
    {
        var t = f.Elem;
        int n = f.FixedLen;
        bool isStruct = t.Struct != null;
        string elemCs = t.Kind == TypeKind.Enum ? _native.UnderlyingOf(t) : t.Kind == TypeKind.Char ? "byte" : t.Cs;
        string ptr = isStruct ? $"(({elemCs}*)&{lv})" : $"(({elemCs}*){lv})";
        bool partial = IsPartialMode(m);
        // In partial encodes only struct and handle arrays travel (§1.6).
        if (partial && !isStruct && t.Kind != TypeKind.Handle) return;
        if (isStruct && t.Struct!.IsUnion && partial) return;
        if (IsSize(m))
        {
            if (isStruct)
            {
                var i = T();
                w.Line("n += 8;");
                w.Open($"for (int {i} = 0; {i} < {n}; {i}++)");
                Elem(w, t, $"{ptr}[{i}]", m, translate);
                w.Close();
            }
            else if (t.Kind == TypeKind.Handle) w.Line($"n += 8 + {8 * n};");
            else w.Line($"n += 8 + {((n * Math.Max(t.NativeSize, 1)) + 3) & ~3};");
            return;
        }
        if (IsEncode(m))
        {
            w.Line($"e.ArraySize({n});");
            if (isStruct || t.NativeSize > 8)
            {
                var i = T();
                w.Open($"for (int {i} = 0; {i} < {n}; {i}++)");
                Elem(w, t, $"{ptr}[{i}]", m, translate);
                w.Close();
            }
            else w.Line($"e.Bytes({ptr}, {n * Math.Max(t.NativeSize, 1)});");
            return;
        }
        // decode
        w.Line($"if (!d.FixedArraySize({n})) return{_ret};");
        if (isStruct || (t.Kind == TypeKind.Handle && translate && m == Mode.Decode))
        {
            var i = T();
            w.Open($"for (int {i} = 0; {i} < {n}; {i}++)");
            Elem(w, t, $"{ptr}[{i}]", m == Mode.DecodePartial && t.Kind == TypeKind.Handle ? Mode.DecodeInto : m, translate, elemCs);
            w.Close();
        }
        else w.Line($"d.Bytes({ptr}, {n * Math.Max(t.NativeSize, 1)});");
    }

    void PointerField(CodeWriter w, FieldModel f, string lv, Mode m, bool translate, bool output)
    {
        var t = f.Elem;
        bool isStruct = t.Struct != null;
        if (output && !isStruct && t.Kind != TypeKind.Handle)
        {
            // an output scalar: presence only in requests
            if (IsSize(m)) w.Line("n += 8;");
            else if (IsEncode(m)) w.Line($"e.Pointer({lv} != null);");
            else
            {
                var p = T();
                w.Line($"if (d.Pointer()) {{ var {p} = ({t.Cs}*)d.Alloc(1, (ulong)sizeof({t.Cs})); if ({p} == null) return; {lv} = {p}; }}");
            }
            return;
        }
        if (IsSize(m))
        {
            w.Line("n += 8;");
            w.Open($"if ({lv} != null)");
            Elem(w, t, $"(*{lv})", m, translate);
            w.Close();
            return;
        }
        if (IsEncode(m))
        {
            w.Line($"e.Pointer({lv} != null);");
            w.Open($"if ({lv} != null)");
            Elem(w, t, $"(*{lv})", m, translate);
            w.Close();
            return;
        }
        if (m == Mode.DecodeInto)
        {
            w.Open("if (d.Pointer())");
            w.Line($"if ({lv} == null) {{ d.Fail(VnDecodeError.ReplyTooLarge); return{_ret}; }}");
            Elem(w, t, $"(*{lv})", m, translate);
            w.Close();
            return;
        }
        w.Open("if (d.Pointer())");
        var q = T();
        string cs = t.Cs;
        w.Line($"var {q} = ({cs}*)d.Alloc(1, (ulong)sizeof({cs}));");
        w.Line($"if ({q} == null) return{_ret};");
        Elem(w, t, $"(*{q})", m, translate);
        w.Line($"{lv} = {q};");
        w.Close();
        if (!f.Optional && m == Mode.Decode && !output)
            w.Line($"else {{ d.Fail(VnDecodeError.MissingPointer); return; }}");
    }

    void StringArray(CodeWriter w, FieldModel f, string lv, string len, Mode m)
    {
        var i = T();
        if (IsSize(m))
        {
            w.Line("n += 8;");
            w.Open($"if ({lv} != null)");
            w.Line($"for (ulong {i} = 0; {i} < {len}; {i}++) n += VnSize.String({lv}[{i}]);");
            w.Close();
            return;
        }
        if (IsEncode(m))
        {
            w.Open($"if ({lv} != null)");
            w.Line($"e.ArraySize({len});");
            w.Line($"for (ulong {i} = 0; {i} < {len}; {i}++) e.String({lv}[{i}]);");
            w.Close();
            w.Line("else e.ArraySize(0);");
            return;
        }
        if (m == Mode.DecodeInto) { w.Line("{ if (d.ArraySize() != 0) { d.Fail(VnDecodeError.ReplyTooLarge); return; } }"); return; }
        var n = T();
        w.Open("");
        w.Line($"ulong {n} = d.ArraySize();");
        w.Open($"if ({n} != 0)");
        w.Line($"if ({n} != {len}) {{ d.Fail(VnDecodeError.ArraySizeMismatch); return{_ret}; }}");
        w.Line($"if (!d.CheckArrayFits({n}, 8)) return{_ret};");
        var p = T();
        w.Line($"var {p} = (byte**)d.Alloc({n}, 8);");
        w.Line($"if ({p} == null) return{_ret};");
        w.Line($"for (ulong {i} = 0; {i} < {n}; {i}++) {p}[{i}] = d.String();");
        w.Line($"{lv} = {p};");
        w.Close();
        if (!f.Optional) w.Line($"else if ({len} != 0) {{ d.Fail(VnDecodeError.ArraySizeMismatch); return{_ret}; }}");
        w.Close();
    }

    /// <summary>A pointer with a len (§1.3), or a byte blob (§1.4).</summary>
    void ArrayField(CodeWriter w, StructModel? owner, FieldModel f, string lv, string len, string pfx, Mode m, bool translate, bool output, Dictionary<string, string>? caps)
    {
        var t = f.Elem;
        bool blob = f.Shape == FieldShape.Blob;
        bool isStruct = t.Struct != null;
        string elemCs = blob ? "byte" : t.Cs;
        int nat = blob ? 1 : Math.Max(t.NativeSize, 1);
        string present = f.Condition != null ? $"({lv} != null && ({string.Format(f.Condition, pfx)}))" : $"({lv} != null)";
        // Output arrays of scalars/blobs carry only their size in requests (§1.3, §1.4).
        bool sizeOnly = output && IsPartialMode(m) && !isStruct && t.Kind != TypeKind.Handle;
        var i = T();
        if (IsSize(m))
        {
            w.Line("n += 8;");
            if (sizeOnly) return;
            w.Open($"if {present}");
            if (isStruct)
            {
                w.Open($"for (ulong {i} = 0; {i} < {len}; {i}++)");
                Elem(w, t, $"{lv}[{i}]", m, translate);
                w.Close();
            }
            else if (t.Kind == TypeKind.Handle) w.Line($"n += 8 * {len};");
            else if (IsRawCopy(t) || blob) w.Line($"n += VnSize.Padded({len} * {nat});");
            else w.Line($"n += {t.WireSize} * {len};");
            w.Close();
            return;
        }
        if (IsEncode(m))
        {
            if (sizeOnly) { w.Line($"e.ArraySize({present} ? {len} : 0);"); return; }
            w.Open($"if {present}");
            w.Line($"e.ArraySize({len});");
            if (isStruct || t.Kind == TypeKind.Handle || !(IsRawCopy(t) || blob))
            {
                w.Open($"for (ulong {i} = 0; {i} < {len}; {i}++)");
                Elem(w, t, $"{lv}[{i}]", m == Mode.EncodePartial && t.Kind == TypeKind.Handle ? Mode.Encode : m, translate);
                w.Close();
            }
            else w.Line($"e.Bytes({lv}, {len} * {nat});");
            w.Close();
            w.Line("else e.ArraySize(0);");
            return;
        }
        var n = T();
        w.Open("");
        w.Line($"ulong {n} = d.ArraySize();");
        if (m == Mode.DecodeInto)
        {
            // Reply into the caller's memory: never more than it made room for, and exactly the count the reply states.
            string cap = caps != null && f.LenName != null && caps.TryGetValue(f.LenName, out var c) ? c : len;
            w.Open($"if ({n} != 0)");
            w.Line($"if ({lv} == null || {n} > {cap} || {n} != {len}) {{ d.Fail(VnDecodeError.ReplyTooLarge); return{_ret}; }}");
            if (isStruct || !(IsRawCopy(t) || blob) || t.Kind == TypeKind.Handle)
            {
                w.Open($"for (ulong {i} = 0; {i} < {n}; {i}++)");
                Elem(w, t, $"{lv}[{i}]", m, false);
                w.Close();
            }
            else w.Line($"d.Bytes({lv}, {n} * {nat});");
            w.Close();
            w.Close();
            return;
        }
        w.Open($"if ({n} != 0)");
        w.Line($"if ({n} != {len}) {{ d.Fail(VnDecodeError.ArraySizeMismatch); return{_ret}; }}");
        if (!sizeOnly)
        {
            int min = isStruct ? (IsPartialMode(m) ? 0 : t.Struct!.MinWireSize) : t.Kind == TypeKind.Handle ? 8 : (IsRawCopy(t) || blob) ? nat : t.WireSize;
            if (min > 0) w.Line($"if (!d.CheckArrayFits({n}, {min})) return{_ret};");
        }
        var p = T();
        w.Line($"var {p} = ({elemCs}*)d.Alloc({n}, (ulong)sizeof({elemCs}));");
        w.Line($"if ({p} == null) return{_ret};");
        if (!sizeOnly)
        {
            if (isStruct || t.Kind == TypeKind.Handle || !(IsRawCopy(t) || blob))
            {
                w.Open($"for (ulong {i} = 0; {i} < {n}; {i}++)");
                Elem(w, t, $"{p}[{i}]", m == Mode.DecodePartial && t.Kind == TypeKind.Handle ? Mode.DecodeInto : m, translate);
                w.Close();
            }
            else w.Line($"d.Bytes({p}, {n} * {nat});");
        }
        w.Line($"{lv} = {p};");
        w.Close();
        if (!f.Optional && m == Mode.Decode)
        {
            string cond = f.Condition != null ? $" && ({string.Format(f.Condition, pfx)})" : "";
            w.Line($"else if ({len} != 0{cond}) {{ d.Fail(VnDecodeError.ArraySizeMismatch); return{_ret}; }}");
        }
        w.Close();
    }

    // ---- structs -------------------------------------------------------------------------------

    string Gate(StructModel s)
    {
        if (s.AlwaysAllowed) return "true";
        var parts = new List<string>();
        if (s.CoreVersion != 0) parts.Add($"f.HasVersion(0x{s.CoreVersion:X}u)");
        foreach (var x in s.Extensions.Where(n => _m.CoveredExtensions.Any(c => c.Number == n)).Distinct()) parts.Add($"f.HasExtension({x})");
        return parts.Count == 0 ? "false" : string.Join(" || ", parts);
    }

    public string EmitStruct(StructModel s)
    {
        var w = new CodeWriter();
        string S = s.Name;
        w.Open($"public static unsafe partial class {W(s)}");
        if (s.IsUnion) EmitUnion(w, s);
        else
        {
            EmitEntry(w, s, Mode.Size);
            EmitEntry(w, s, Mode.Encode);
            EmitEntry(w, s, Mode.Decode);
            EmitRawDecode(w, s);
            EmitSelf(w, s, Mode.Size);
            EmitSelf(w, s, Mode.Encode);
            EmitSelf(w, s, Mode.Decode);
            if (s.Output)
            {
                foreach (var m in new[] { Mode.SizePartial, Mode.EncodePartial, Mode.DecodePartial, Mode.DecodeInto })
                {
                    EmitEntry(w, s, m);
                    EmitSelf(w, s, m);
                }
            }
            if (s.HasPNext)
            {
                EmitChain(w, s, Mode.Size);
                EmitChain(w, s, Mode.Encode);
                EmitChain(w, s, Mode.Decode);
                if (s.Output)
                {
                    EmitChain(w, s, Mode.SizePartial);
                    EmitChain(w, s, Mode.EncodePartial);
                    EmitChain(w, s, Mode.DecodePartial);
                    EmitChain(w, s, Mode.DecodeInto);
                }
                EmitChainInfo(w, s);
            }
        }
        w.Close();
        return w.ToString();
    }

    /// <summary>
    /// The structs a pNext chain of <paramref name="s"/> may carry in mode <paramref name="m"/>: full
    /// forms take every chain member the protocol covers; partial forms and replies (DecodeInto) only
    /// those that can be outputs.
    /// </summary>
    List<StructModel> ChainMembersFor(StructModel s, Mode m) =>
        _m.ChainMembers(s).Where(x => _native.NativeStructNames.Contains(x.Name) && x.Used && (!IsPartialMode(m) && m != Mode.DecodeInto || x.Output)).ToList();

    /// <summary>
    /// What the chain decoders accept, as data: the sTypes, those vk.xml lets appear more than once
    /// in one chain (allowduplicate), and the chain limit (every other known struct once).
    /// </summary>
    void EmitChainInfo(CodeWriter w, StructModel s)
    {
        void One(string prefix, List<StructModel> members, string what)
        {
            var dup = members.Where(x => x.Reg.AllowDuplicate).ToList();
            w.Line($"/// <summary>sTypes of the structs a pNext chain of {s.Name} carries {what}, in sType order.</summary>");
            w.Line($"public static ReadOnlySpan<int> {prefix}ChainSTypes => [{string.Join(", ", members.Select(x => x.STypeValue))}];");
            if (dup.Count > 0)
            {
                w.Line($"/// <summary>Those of <see cref=\"{prefix}ChainSTypes\"/> that may appear more than once in one chain (vk.xml allowduplicate).</summary>");
                w.Line($"public static ReadOnlySpan<int> {prefix}DuplicableChainSTypes => [{string.Join(", ", dup.Select(x => x.STypeValue))}];");
            }
            w.Line($"/// <summary>Longest valid chain {what} without duplicable structs: each known struct once.</summary>");
            w.Line($"public const int {prefix}ChainLimit = {members.Count - dup.Count};");
        }
        One("", ChainMembersFor(s, Mode.Decode), "in full (Size, Encode, Decode)");
        if (s.Output) One("Partial", ChainMembersFor(s, Mode.DecodePartial), "as an output (partial forms, replies)");
    }

    static string Sig(StructModel s, Mode m, string name, string extra = "") => m switch
    {
        // a selected union's tag follows the filter, which callers then always pass
        Mode.Size or Mode.SizePartial => $"public static ulong {name}({s.Name}* v, VnProtocolFilter f{(extra == "" ? " = null" : "")}{extra})",
        Mode.Encode or Mode.EncodePartial => $"public static void {name}(ref VnEncoder e, {s.Name}* v{extra})",
        _ => $"public static void {name}(ref VnDecoder d, {s.Name}* v{extra})",
    };

    void EmitEntry(CodeWriter w, StructModel s, Mode m)
    {
        string fn = StructFn(m);
        w.Open(Sig(s, m, fn));
        string chain = fn.Replace("Size", "Size") + "Chain";
        string chainFn = m switch
        {
            Mode.Size => "SizeChain", Mode.SizePartial => "SizePartialChain",
            Mode.Encode => "EncodeChain", Mode.EncodePartial => "EncodePartialChain",
            Mode.Decode => "DecodeChain", Mode.DecodePartial => "DecodePartialChain", _ => "DecodeIntoChain",
        };
        string self = fn + "Self";
        if (IsSize(m))
        {
            w.Line($"ulong n = {(s.HasSType ? 4 : 0)};");
            if (s.HasPNext) w.Line($"n += {chainFn}(v->pNext, f);");
            w.Line($"return n + {self}(v, f);");
        }
        else if (IsEncode(m))
        {
            if (s.HasSType) w.Line($"e.I32((int){s.Name}.SType);");
            if (s.HasPNext) w.Line($"{chainFn}(ref e, v->pNext);");
            w.Line($"{self}(ref e, v);");
        }
        else
        {
            if (s.HasSType)
            {
                w.Line($"if (d.I32() != (int){s.Name}.SType) {{ d.Fail(VnDecodeError.UnexpectedSType); return; }}");
                if (m != Mode.DecodeInto) w.Line($"v->sType = {s.Name}.SType;");
            }
            if (s.HasPNext)
            {
                if (m == Mode.DecodeInto) w.Line($"{chainFn}(ref d, v->pNext);");
                else w.Line($"v->pNext = {chainFn}(ref d);");
            }
            w.Line("if (d.Failed) return;");
            w.Line($"{self}(ref d, v);");
        }
        w.Close();
    }

    /// <summary>Full decode that keeps handle ids untranslated (struct values inside output arrays of replies, tests).</summary>
    void EmitRawDecode(CodeWriter w, StructModel s)
    {
        w.Open($"public static void DecodeRaw(ref VnDecoder d, {s.Name}* v)");
        w.Line("var t = d.Translator; d.Translator = null;");
        w.Line("Decode(ref d, v);");
        w.Line("d.Translator = t;");
        w.Close();
    }

    void EmitSelf(CodeWriter w, StructModel s, Mode m)
    {
        w.Open(Sig(s, m, StructFn(m) + "Self"));
        if (IsSize(m)) w.Line("ulong n = 0;");
        Dictionary<string, string>? caps = null;
        if (m == Mode.DecodeInto)
        {
            // Room the caller made for each output array, read before the reply overwrites the counts.
            caps = new();
            foreach (var f in s.Fields.Where(f => f.Shape is FieldShape.Array or FieldShape.Blob && f.LenName != null))
            {
                if (caps.ContainsKey(f.LenName!)) continue;
                var c = "cap_" + f.LenName;
                w.Line($"ulong {c} = {string.Format(f.LenExpr!, "v->")};");
                caps[f.LenName!] = c;
            }
        }
        foreach (var f in s.Fields)
        {
            Field(w, s, f, "v->", m, translate: m == Mode.Decode, caps);
        }
        if (IsSize(m)) w.Line("return n;");
        w.Close();
    }

    void EmitChain(CodeWriter w, StructModel s, Mode m)
    {
        var members = ChainMembersFor(s, m);
        switch (m)
        {
            case Mode.Size:
            case Mode.SizePartial:
                {
                    // A loop, not a recursion: 8 for the end marker, 12 + self for each element kept.
                    string self = m == Mode.Size ? "SizeSelf" : "SizePartialSelf";
                    if (members.Count == 0)
                    {
                        w.Line($"public static ulong {(m == Mode.Size ? "SizeChain" : "SizePartialChain")}(void* p, VnProtocolFilter f) => 8;");
                        return;
                    }
                    w.Open($"public static ulong {(m == Mode.Size ? "SizeChain" : "SizePartialChain")}(void* p, VnProtocolFilter f)");
                    w.Line("ulong n = 8;");
                    w.Open("for (; p != null; p = ((VnChainHeader*)p)->pNext)");
                    w.Open("switch (((VnChainHeader*)p)->sType)");
                    foreach (var x in members)
                    {
                        string g = Gate(x);
                        string cond = g == "true" ? "" : $" when f == null || {g}";
                        w.Line($"case {x.STypeValue}{cond}: n += 12 + {W(x)}.{self}(({x.Name}*)p, f); break;");
                    }
                    w.Close();
                    w.Close();
                    w.Line("return n;");
                    w.Close();
                    return;
                }
            case Mode.Encode:
            case Mode.EncodePartial:
                {
                    string name = m == Mode.Encode ? "EncodeChain" : "EncodePartialChain";
                    string self = m == Mode.Encode ? "EncodeSelf" : "EncodePartialSelf";
                    if (members.Count == 0)
                    {
                        w.Line($"public static void {name}(ref VnEncoder e, void* p) => e.Pointer(false);");
                        return;
                    }
                    // Every kept element's header first, then their members last to first (§1.5). No
                    // frame per element: the elements kept are remembered on the stack, as many as the
                    // chain limit; a longer chain (structs vk.xml lets repeat) hands its rest, which
                    // encodes as one piece, to a nested call at that point.
                    w.Line("[System.Runtime.CompilerServices.SkipLocalsInit]");
                    w.Open($"public static void {name}(ref VnEncoder e, void* p)");
                    w.Line("if (p == null) { e.Pointer(false); return; }");
                    w.Line("var f = e.Filter;");
                    int room = Math.Max(1, members.Count(x => !x.Reg.AllowDuplicate)); // the chain limit; never 0, so each call takes at least one element
                    w.Line($"VnChainHeader** kept = stackalloc VnChainHeader*[{room}];");
                    w.Line("int n = 0;");
                    w.Open("for (; ; p = ((VnChainHeader*)p)->pNext)");
                    w.Line("if (p == null) { e.Pointer(false); break; }");
                    w.Line($"if (n == {room}) {{ {name}(ref e, p); break; }}");
                    w.Open("switch (((VnChainHeader*)p)->sType)");
                    foreach (var x in members)
                    {
                        string g = Gate(x);
                        string cond = g == "true" ? "" : $" when f == null || {g}";
                        w.Line($"case {x.STypeValue}{cond}: e.Pointer(true); e.I32({x.STypeValue}); kept[n++] = (VnChainHeader*)p; break;");
                    }
                    w.Close();
                    w.Close();
                    w.Open("while (n > 0)");
                    w.Line("var q = kept[--n];");
                    w.Open("switch (q->sType)");
                    foreach (var x in members)
                        w.Line($"case {x.STypeValue}: {W(x)}.{self}(ref e, ({x.Name}*)q); break;");
                    w.Close();
                    w.Close();
                    w.Close();
                    return;
                }
            case Mode.Decode:
            case Mode.DecodePartial:
                {
                    string name = m == Mode.Decode ? "DecodeChain" : "DecodePartialChain";
                    string self = m == Mode.Decode ? "DecodeSelf" : "DecodePartialSelf";
                    string limit = m == Mode.Decode ? "ChainLimit" : "PartialChainLimit";
                    w.Open($"public static void* {name}(ref VnDecoder d)");
                    if (members.Count == 0)
                    {
                        w.Line("if (d.Pointer()) d.Fail(VnDecodeError.UnexpectedSType);");
                        w.Line("return null;");
                        w.Close();
                        return;
                    }
                    // No recursion, so no depth to bound: every element's sType comes before any
                    // element's members (§1.5). The headers are read first, each element allocated
                    // and linked to the one before it; then the members arrive innermost first, and
                    // the links are turned forward while they are decoded.
                    w.Line("if (!d.Pointer()) return null;");
                    w.Line("VnChainHeader* last = null;");
                    w.Line("int n = 0;");
                    w.Open("do");
                    w.Line("int st = d.I32();");
                    w.Line("VnChainHeader* p;");
                    w.Open("switch (st)");
                    foreach (var x in members)
                    {
                        // Structs vk.xml lets repeat (allowduplicate) do not count against the limit; the arena cap bounds them.
                        string uncounted = x.Reg.AllowDuplicate ? " n--;" : "";
                        w.Line($"case {x.STypeValue}: p = (VnChainHeader*)d.Alloc(1, (ulong)sizeof({x.Name}));{uncounted} break;");
                    }
                    w.Line("default: d.Fail(VnDecodeError.UnexpectedSType); return null;");
                    w.Close();
                    w.Line("if (p == null) return null;");
                    w.Line($"if (++n > {limit}) {{ d.Fail(VnDecodeError.ChainTooLong); return null; }}");
                    w.Line("p->sType = st;");
                    w.Line("p->pNext = last;");
                    w.Line("last = p;");
                    w.Close(" while (d.Pointer());");
                    w.Line("if (d.Failed) return null;");
                    w.Line("VnChainHeader* next = null;");
                    w.Open("while (last != null)");
                    w.Line("var before = (VnChainHeader*)last->pNext;");
                    w.Line("last->pNext = next;");
                    w.Open("switch (last->sType)");
                    foreach (var x in members)
                        w.Line($"case {x.STypeValue}: {W(x)}.{self}(ref d, ({x.Name}*)last); break;");
                    w.Close();
                    w.Line("if (d.Failed) return null;");
                    w.Line("next = last;");
                    w.Line("last = before;");
                    w.Close();
                    w.Line("return next;");
                    w.Close();
                    return;
                }
            case Mode.DecodeInto:
                {
                    if (members.FirstOrDefault(x => x.Reg.AllowDuplicate) is { } dup)
                        throw new InvalidOperationException($"{s.Name}: output chain member {dup.Name} may repeat; DecodeIntoChain keeps one slot per known struct");
                    if (members.Count == 0)
                    {
                        w.Open("public static void DecodeIntoChain(ref VnDecoder d, void* chain)");
                        w.Line("if (d.Pointer()) d.Fail(VnDecodeError.UnexpectedSType);");
                        w.Close();
                        return;
                    }
                    w.Line("[System.Runtime.CompilerServices.SkipLocalsInit]");
                    w.Open("public static void DecodeIntoChain(ref VnDecoder d, void* chain)");
                    // The host may leave out chain elements but keeps their order; each one is found
                    // forward in the caller's chain (§1.5). No recursion: the headers come first and
                    // the elements found are kept (at most one of each known struct), then their
                    // members arrive innermost first.
                    w.Line("if (!d.Pointer()) return;");
                    w.Line("VnChainHeader** found = stackalloc VnChainHeader*[PartialChainLimit];");
                    w.Line("int n = 0;");
                    w.Line("var p = (VnChainHeader*)chain;");
                    w.Open("do");
                    w.Line("if (n == PartialChainLimit) { d.Fail(VnDecodeError.ChainTooLong); return; }");
                    w.Line("int st = d.I32();");
                    w.Line("while (p != null && p->sType != st) p = (VnChainHeader*)p->pNext;");
                    w.Line("if (p == null) { d.Fail(VnDecodeError.UnexpectedSType); return; }");
                    w.Line("found[n++] = p;");
                    w.Line("p = (VnChainHeader*)p->pNext;");
                    w.Close(" while (d.Pointer());");
                    w.Line("if (d.Failed) return;");
                    w.Open("while (n > 0)");
                    w.Line("p = found[--n];");
                    w.Open("switch (p->sType)");
                    foreach (var x in members)
                        w.Line($"case {x.STypeValue}: {W(x)}.DecodeIntoSelf(ref d, ({x.Name}*)p); break;");
                    w.Line("default: d.Fail(VnDecodeError.UnexpectedSType); return;");
                    w.Close();
                    w.Line("if (d.Failed) return;");
                    w.Close();
                    w.Close();
                    return;
                }
        }
    }

    void EmitUnion(CodeWriter w, StructModel s)
    {
        // Default-tag unions travel as u32 tag + that member; selected unions as the owner's selector value + the chosen member (§1.5).
        var members = s.Fields.Select((f, i) => (f, i)).Where(x => x.f.Unsupported == null && IsEncodableElem(x.f)).ToList();
        string tagParam = s.SelectedUnion ? ", int tag" : "";
        string Choose(int i, FieldModel f) => s.SelectedUnion ? string.Join(" || ", f.Selection.Select(v => $"tag == {v}")) : $"tag == {i}";
        foreach (var m in new[] { Mode.Size, Mode.Encode, Mode.Decode, Mode.DecodeInto })
        {
            if (m == Mode.DecodeInto && !s.Output) continue;
            w.Open(Sig(s, m, StructFn(m), tagParam));
            // A default-tag union sends its default member; decoding takes the tag from the wire.
            if (!s.SelectedUnion && !IsDecode(m)) w.Line($"int tag = {s.DefaultTag};");
            if (IsSize(m))
            {
                w.Line("ulong n = 4;");
                foreach (var (f, i) in members)
                {
                    w.Open($"if ({Choose(i, f)})");
                    Field(w, s, f, "v->", m, false);
                    w.Line("return n;");
                    w.Close();
                }
                w.Line("return n;");
            }
            else if (IsEncode(m))
            {
                w.Line("e.I32(tag);");
                foreach (var (f, i) in members)
                {
                    w.Open($"if ({Choose(i, f)})");
                    Field(w, s, f, "v->", m, false);
                    w.Line("return;");
                    w.Close();
                }
            }
            else
            {
                w.Line(s.SelectedUnion ? "if (d.I32() != tag) { d.Fail(VnDecodeError.BadUnionTag); return; }" : "int tag = d.I32();");
                foreach (var (f, i) in members)
                {
                    w.Open($"if ({Choose(i, f)})");
                    Field(w, s, f, "v->", m, m == Mode.Decode);
                    w.Line("return;");
                    w.Close();
                }
                w.Line("d.Fail(VnDecodeError.BadUnionTag);");
            }
            w.Close();
        }
        w.Open($"public static void DecodeRaw(ref VnDecoder d, {s.Name}* v{tagParam})");
        w.Line("var t = d.Translator; d.Translator = null;");
        w.Line($"Decode(ref d, v{(s.SelectedUnion ? ", tag" : "")});");
        w.Line("d.Translator = t;");
        w.Close();
    }

    static bool IsEncodableElem(FieldModel f) => f.Elem.Kind switch
    {
        TypeKind.Struct or TypeKind.Union => f.Elem.Struct!.Encodable,
        TypeKind.FuncPointer or TypeKind.Opaque or TypeKind.Void => false,
        _ => true,
    };

    // ---- commands ------------------------------------------------------------------------------

    static string RetCs(CommandModel c) => c.Return == null ? "void" : c.Return.Cs;

    string ParamList(CommandModel c) => string.Join(", ", c.Params.Select(p => $"{ParamCs(p)} {NativeEmitter.Escape(p.Name)}"));
    string ArgList(CommandModel c, string pfx) => string.Join(", ", c.Params.Select(p => pfx + NativeEmitter.Escape(p.Name)));

    public string ParamCs(FieldModel p)
    {
        if (p.Shape == FieldShape.AllocationCallbacks) return "VkAllocationCallbacks*";
        if (p.Reg.FixedDim != null) return (p.Elem.Kind == TypeKind.Enum ? p.Elem.Cs : p.Elem.Cs) + "*";
        var t = p.NativeCs;
        if (p.Elem.Struct != null && !_native.NativeStructNames.Contains(p.Elem.Struct.Name)) t = "void" + new string('*', p.Reg.PointerDepth);
        return t;
    }

    public string EmitCommand(CommandModel c)
    {
        var w = new CodeWriter();
        string ret = RetCs(c);
        bool hasRet = c.Return != null;
        string pl = ParamList(c);
        string plc = pl.Length > 0 ? ", " + pl : "";
        w.Line($"/// <summary>{c.Name} (VkCommandTypeEXT {c.TypeValue}).</summary>");
        w.Open($"public static unsafe partial class {c.Name}");
        w.Line($"public const VkCommandTypeEXT Type = (VkCommandTypeEXT){c.TypeValue};");
        w.Line();
        w.Open("public struct Args");
        foreach (var p in c.Params) w.Line($"public {ParamCs(p)} {NativeEmitter.Escape(p.Name)};");
        if (hasRet) w.Line($"public {ret} ret;");
        w.Close();
        w.Line();

        // request size
        w.Open($"public static ulong Size({pl}{(pl.Length > 0 ? ", " : "")}VnProtocolFilter f = null)");
        w.Line("ulong n = 8;");
        foreach (var p in c.Params) RequestParam(w, c, p, Mode.Size);
        w.Line("return n;");
        w.Close();
        // request encode
        w.Open($"public static void Encode(ref VnEncoder e, VkCommandFlagBitsEXT cmdFlags{plc})");
        w.Line("e.U32((uint)Type);");
        w.Line("e.U32((uint)cmdFlags);");
        foreach (var p in c.Params) RequestParam(w, c, p, Mode.Encode);
        w.Close();
        // request decode (the dispatcher has consumed type and flags)
        w.Open("public static void Decode(ref VnDecoder d, Args* a)");
        foreach (var p in c.Params) RequestParam(w, c, p, Mode.Decode);
        w.Close();
        // reply size
        w.Open($"public static ulong ReplySize({pl}{(pl.Length > 0 ? ", " : "")}VnProtocolFilter f = null)");
        w.Line($"ulong n = 4{(hasRet ? " + " + c.Return!.WireSize : "")};");
        foreach (var p in c.Params.Where(p => p.IsOutput)) ReplyParam(w, c, p, Mode.Size, null);
        w.Line("return n;");
        w.Close();
        // reply encode
        w.Open($"public static void EncodeReply(ref VnEncoder e{(hasRet ? $", {ret} ret" : "")}{plc})");
        w.Line("var f = e.Filter;");
        w.Line("e.U32((uint)Type);");
        if (hasRet) w.Line($"e.{c.Return!.Method}(({c.Return.MethodCs})ret);");
        foreach (var p in c.Params.Where(p => p.IsOutput)) ReplyParam(w, c, p, Mode.Encode, null);
        w.Close();
        // reply decode into the caller's memory
        w.Open($"public static {ret} DecodeReply(ref VnDecoder d{plc})");
        _ret = hasRet ? " ret" : "";
        var caps = new Dictionary<string, string>();
        foreach (var p in c.Params.Where(p => p.IsInOutCount))
        {
            var cap = "cap_" + p.Name;
            w.Line($"ulong {cap} = {p.Name} == null ? 0UL : (ulong)(*{p.Name});");
            caps[p.Name] = cap;
        }
        if (hasRet) w.Line($"{ret} ret = default;");
        string rr = hasRet ? " ret" : "";
        w.Line($"if (d.U32() != (uint)Type) {{ d.Fail(VnDecodeError.UnknownCommand); return{rr}; }}");
        if (hasRet) w.Line($"ret = ({ret})d.{c.Return!.Method}();");
        foreach (var p in c.Params.Where(p => p.IsOutput)) ReplyParam(w, c, p, Mode.DecodeInto, caps);
        w.Line($"return{rr};");
        w.Close();
        _ret = "";
        // conveniences over Args
        w.Line($"public static ulong Size(Args* a, VnProtocolFilter f = null) => Size({ArgList(c, "a->")}{(c.Params.Count > 0 ? ", " : "")}f);");
        w.Line($"public static void Encode(ref VnEncoder e, VkCommandFlagBitsEXT cmdFlags, Args* a) => Encode(ref e, cmdFlags{(c.Params.Count > 0 ? ", " : "")}{ArgList(c, "a->")});");
        w.Line($"public static ulong ReplySize(Args* a) => ReplySize({ArgList(c, "a->")});");
        w.Line($"public static void EncodeReply(ref VnEncoder e, Args* a) => EncodeReply(ref e{(hasRet ? ", a->ret" : "")}{(c.Params.Count > 0 ? ", " : "")}{ArgList(c, "a->")});");
        w.Line($"public static {ret} DecodeReply(ref VnDecoder d, Args* a) => DecodeReply(ref d{(c.Params.Count > 0 ? ", " : "")}{ArgList(c, "a->")});");
        w.Close();
        return w.ToString();
    }

    void RequestParam(CodeWriter w, CommandModel c, FieldModel p, Mode m)
    {
        string pfx = m == Mode.Decode ? "a->" : "";
        string lv = pfx + NativeEmitter.Escape(p.Name);
        if (!p.IsOutput)
        {
            if (p.Shape == FieldShape.FixedArray && m == Mode.Decode)
            {
                // a fixed-size array parameter (float blendConstants[4]) decays to a pointer: give it storage
                string cs = p.Elem.Kind == TypeKind.Enum ? p.Elem.Cs : p.Elem.Cs;
                var q = T();
                w.Line($"var {q} = ({cs}*)d.Alloc({p.FixedLen}, (ulong)sizeof({cs}));");
                w.Line($"if ({q} == null) return;");
                w.Line($"{lv} = {q};");
            }
            Field(w, null, p, pfx, m, translate: true);
            // A handle the command needs may not be VK_NULL_HANDLE: drivers do not check (they would crash).
            if (m == Mode.Decode && p.Shape == FieldShape.Value && p.Elem.Kind == TypeKind.Handle && !p.Optional)
                w.Line($"if ({lv} == 0) {{ d.Fail(VnDecodeError.NullHandle); return; }}");
            return;
        }
        var t = p.Elem;
        if (m == Mode.Decode && p.Shape == FieldShape.Pointer && !p.Optional)
        {
            // A required output pointer must be present: the driver writes through it.
            var cw = new CodeWriter();
            RequestOutputPointer(cw, c, p, lv, m);
            foreach (var line in cw.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries)) w.Line(line);
            w.Line($"if ({lv} == null) {{ d.Fail(VnDecodeError.MissingPointer); return; }}");
            return;
        }
        RequestOutputPointer(w, c, p, lv, m);
    }

    void RequestOutputPointer(CodeWriter w, CommandModel c, FieldModel p, string lv, Mode m)
    {
        string pfx = m == Mode.Decode ? "a->" : "";
        var t = p.Elem;
        bool isStruct = t.Struct != null;
        if (p.Shape == FieldShape.Pointer)
        {
            if (p.IsInOutCount)
            {
                // an in/out count travels with its value (§1.2)
                if (IsSize(m)) w.Line($"n += 8; if ({lv} != null) n += {t.WireSize};");
                else if (IsEncode(m)) { w.Line($"e.Pointer({lv} != null);"); w.Line($"if ({lv} != null) e.{t.Method}(({t.MethodCs})(*{lv}));"); }
                else
                {
                    var q = T();
                    w.Line($"if (d.Pointer()) {{ var {q} = ({t.Cs}*)d.Alloc(1, (ulong)sizeof({t.Cs})); if ({q} == null) return; *{q} = ({t.Cs})d.{t.Method}(); {lv} = {q}; }}");
                }
                return;
            }
            if (t.Kind == TypeKind.Handle)
            {
                // the id of an object this command creates is chosen by the guest (§1.7)
                if (IsSize(m)) w.Line($"n += 8; if ({lv} != null) n += 8;");
                else if (IsEncode(m)) { w.Line($"e.Pointer({lv} != null);"); w.Line($"if ({lv} != null) e.Handle(*{lv});"); }
                else
                {
                    var q = T();
                    w.Line($"if (d.Pointer()) {{ var {q} = (ulong*)d.Alloc(1, 8); if ({q} == null) return; *{q} = d.RawHandle(); {lv} = {q}; }}");
                }
                return;
            }
            PointerField(w, p, lv, m switch { Mode.Size => Mode.SizePartial, Mode.Encode => Mode.EncodePartial, _ => Mode.DecodePartial }, false, output: true);
            return;
        }
        if (p.Shape is FieldShape.Array or FieldShape.Blob)
        {
            var pm = m switch { Mode.Size => Mode.SizePartial, Mode.Encode => Mode.EncodePartial, _ => Mode.DecodePartial };
            ArrayField(w, null, p, lv, string.Format(p.LenExpr!, pfx), pfx, pm, false, output: true, null);
            return;
        }
        throw new InvalidOperationException($"{c.Name}.{p.Name}: output of shape {p.Shape}");
    }

    void ReplyParam(CodeWriter w, CommandModel c, FieldModel p, Mode m, Dictionary<string, string>? caps)
    {
        string lv = NativeEmitter.Escape(p.Name);
        var t = p.Elem;
        string rr = c.Return != null ? " ret" : "";
        if (p.Shape == FieldShape.Pointer)
        {
            if (IsSize(m))
            {
                w.Line("n += 8;");
                w.Open($"if ({lv} != null)");
                Elem(w, t, $"(*{lv})", Mode.Size, false);
                w.Close();
            }
            else if (IsEncode(m))
            {
                w.Line($"e.Pointer({lv} != null);");
                w.Open($"if ({lv} != null)");
                Elem(w, t, $"(*{lv})", Mode.Encode, false);
                w.Close();
            }
            else
            {
                w.Open("if (d.Pointer())");
                w.Line($"if ({lv} == null) {{ d.Fail(VnDecodeError.ReplyTooLarge); return{rr}; }}");
                if (t.Struct != null) w.Line($"{W(t.Struct)}.DecodeInto(ref d, {lv});");
                else if (t.Kind == TypeKind.Handle) w.Line($"*{lv} = d.RawHandle();");
                else w.Line($"*{lv} = ({t.Cs})d.{t.Method}();");
                w.Close();
            }
            return;
        }
        // arrays and blobs: full elements
        ArrayField(w, null, p, lv, string.Format(p.LenExpr!, ""), "", m, false, output: false, caps);
    }

    // ---- command table for dispatch, dump and tests --------------------------------------------

    public string EmitInfo()
    {
        var w = new CodeWriter();
        w.Line(CodeWriter.Header("What the generated protocol covers."));
        w.Line("namespace Venus.Protocol;");
        w.Line();
        w.Line("/// <summary>A covered extension; CommandsTravel is false when some of its commands have no body (guests implement those locally).</summary>");
        w.Line("public readonly record struct VenusExtension(string Name, int Number, int SpecVersion, bool CommandsTravel);");
        w.Line();
        w.Open("public static partial class VenusProtocolInfo");
        var reg = _m.Reg;
        w.Line($"/// <summary>vk.xml the protocol was generated from: 1.4.{reg.HeaderVersion}.</summary>");
        w.Line($"public const uint VkXmlVersion = (1u << 22) | (4u << 12) | {reg.HeaderVersion}u;");
        w.Line("/// <summary>Wire format of the released protocol (venus-protocol.md §5).</summary>");
        w.Line("public const uint WireFormatVersion = 1;");
        var ext = reg.Extensions;
        w.Line($"public const int CommandSerializationSpecVersion = {ext["VK_EXT_command_serialization"].SpecVersion};");
        w.Line($"public const int VenusProtocolSpecVersion = {ext["VK_MESA_venus_protocol"].SpecVersion};");
        w.Line($"public const int CommandTypeCount = {_m.Commands.Max(c => c.TypeValue) + 1};");
        w.Line();
        w.Line("/// <summary>Extensions whose commands and structs all travel: what the host's capset mask states.</summary>");
        w.Open("public static readonly VenusExtension[] Extensions =");
        var bodies = new HashSet<string>();
        foreach (var c in WireCommands())
        {
            bodies.Add(c.Name);
            bodies.Add(c.Reg!.Name);
            foreach (var a in c.Aliases) bodies.Add(a);
        }
        foreach (var x in _m.CoveredExtensions)
        {
            int spec = Math.Min(x.SpecVersion, reg.ProtocolExtensions[x.Name].Spec);
            if (spec == 0) spec = x.SpecVersion;
            bool travel = x.Commands.All(c => bodies.Contains(c) || bodies.Contains(reg.ResolveCommand(c)?.Name ?? c));
            w.Line($"new(\"{x.Name}\", {x.Number}, {spec}, {(travel ? "true" : "false")}),");
        }
        w.Close(";");
        w.Line();
        w.Open("public static string CommandName(int type) => type switch");
        foreach (var c in _m.Commands) w.Line($"{c.TypeValue} => \"{c.Name}\",");
        w.Line("_ => null,");
        w.Close(";");
        w.Line();
        w.Line("/// <summary>Whether the command has an encoder and decoder in this protocol build.</summary>");
        w.Open("public static bool HasBody(int type) => type switch");
        var bodyTypes = WireCommands().Select(c => c.TypeValue).ToList();
        foreach (var chunk in bodyTypes.Chunk(16)) w.Line(string.Join(" or ", chunk) + " => true,");
        w.Line("_ => false,");
        w.Close(";");
        w.Line();
        w.Line("/// <summary>Whether the command returns a VkResult: its reply is then the command type followed by that result (venus replay checks it).</summary>");
        w.Open("public static bool ReturnsResult(int type) => type switch");
        var resultTypes = WireCommands().Where(c => c.Return?.VkName == "VkResult").Select(c => c.TypeValue).ToList();
        foreach (var chunk in resultTypes.Chunk(16)) w.Line(string.Join(" or ", chunk) + " => true,");
        w.Line("_ => false,");
        w.Close(";");
        w.Line();
        w.Line("/// <summary>Why a numbered command has no body (for logs); null when it has one.</summary>");
        w.Open("public static string WhyNoBody(int type) => type switch");
        foreach (var c in _m.Commands.Where(c => !bodyTypes.Contains(c.TypeValue)))
            w.Line($"{c.TypeValue} => \"{(c.Unsupported ?? "its structs have no native layout").Replace("\"", "'")}\",");
        w.Line("_ => null,");
        w.Close(";");
        w.Close();
        return w.ToString();
    }
}
