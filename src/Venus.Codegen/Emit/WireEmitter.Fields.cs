using Venus.Codegen.Model;

namespace Venus.Codegen.Emit;

/// <summary>Wire codecs (<see cref="WireEmitter"/>): One element and one field of a struct or an input parameter, in each mode: the per-field plan.</summary>
public sealed partial class WireEmitter
{
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
                else
                {
                    w.Line($"{lv} = ({castCs ?? t.Cs})d.{t.Method}();");
                    // An enum value must be one of its type's (where the decoder translates
                    // handles: the host's); drivers index tables with some.
                    if (t.Kind == TypeKind.Enum && t.Method is "I32" or "U32" && t.Cs == t.VkName && m == Mode.Decode && translate && _enumChecks.Contains(t.VkName))
                        w.Line($"if (d.Translator != null && !VkEnumCheck.{t.VkName}(({t.MethodCs}){lv})) {{ d.Fail(VnDecodeError.InvalidEnum); return{_ret}; }}");
                }
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

    static bool IsRawCopy(TypeRef t) => FieldPlan.IsRawCopyType(t);

    // ---- one field of a struct (or input parameter) --------------------------------------------

    /// <param name="pfx">receiver prefix: "v->" in structs, "a->" for decoded arguments, "" for parameters</param>
    /// <param name="output">the field is an output in this context (partial/reply rules apply)</param>
    void Field(CodeWriter w, StructModel? owner, FieldModel f, string pfx, Mode m, bool translate, Dictionary<string, string>? caps = null)
    {
        var plan = Plan(f);
        string lv = pfx + NativeEmitter.Escape(f.Name);
        string Len() => string.Format(plan.Count!, pfx);
        bool partial = IsPartialMode(m);
        switch (plan.Kind)
        {
            case WireKind.Chain:
                return; // handled by the struct's entry functions
            case WireKind.AllocationCallbacks:
                if (IsSize(m)) w.Line("n += 8;");
                else if (IsEncode(m)) w.Line("e.Pointer(false);");
                else w.Line("if (d.Pointer()) { d.Fail(VnDecodeError.Unsupported); return; }");
                return;
            case WireKind.Scalar:
            case WireKind.Handle:
            case WireKind.Struct:
            case WireKind.Union:
                if (partial && f.IsLenOfArray)
                {
                    // counts inside output structs travel in the request (§1.6)
                    Elem(w, plan.Elem, lv, m == Mode.SizePartial ? Mode.Size : m == Mode.EncodePartial ? Mode.Encode : Mode.Decode, translate);
                    return;
                }
                if (partial && plan.Kind == WireKind.Handle)
                {
                    Elem(w, plan.Elem, lv, m == Mode.SizePartial ? Mode.Size : m == Mode.EncodePartial ? Mode.Encode : Mode.DecodeInto, false);
                    return;
                }
                Elem(w, plan.Elem, lv, m, translate, null, f.Selector != null ? pfx + f.Selector : null);
                // A struct's handle the spec requires may not be VK_NULL_HANDLE where the decoder
                // translates handles (the host's): drivers dereference it (parameters get the same
                // check in the command's decoder).
                if (owner != null && plan.Kind == WireKind.Handle && m == Mode.Decode && translate && !f.NullHandleAllowed)
                    w.Line($"if ({lv} == 0 && d.Translator != null) {{ d.Fail(VnDecodeError.NullHandle); return{_ret}; }}");
                return;
            case WireKind.FixedArray:
                FixedArray(w, f, lv, m, translate);
                return;
            case WireKind.Pointer:
                PointerField(w, f, lv, m, translate, output: partial);
                return;
            case WireKind.String:
                if (IsSize(m)) w.Line($"n += VnSize.String({lv});");
                else if (IsEncode(m)) w.Line($"e.String({lv});");
                else if (m == Mode.DecodeInto) w.Line("{ if (d.ArraySize() != 0) { d.Fail(VnDecodeError.ReplyTooLarge); return; } }");
                else w.Line($"{lv} = d.String();");
                return;
            case WireKind.StringArray:
                StringArray(w, f, lv, Len(), m);
                return;
            case WireKind.Array:
            case WireKind.Blob:
                ArrayField(w, owner, f, lv, Len(), pfx, m, translate, output: partial || m == Mode.DecodeInto, caps);
                return;
            case WireKind.PointerArray:
                PointerArrayField(w, f, lv, Len(), pfx, m, translate);
                return;
            case WireKind.Skipped:
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
        string elemCs = Plan(f).ElemCs;
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
        var plan = Plan(f);
        var t = plan.Elem;
        bool isStruct = plan.ElemIsStruct;
        string elemCs = plan.ElemCs;
        int nat = plan.ElemNativeSize;
        bool raw = plan.RawCopy;
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
            else if (raw) w.Line($"n += VnSize.Padded({len} * {nat});");
            else w.Line($"n += {t.WireSize} * {len};");
            w.Close();
            return;
        }
        if (IsEncode(m))
        {
            if (sizeOnly) { w.Line($"e.ArraySize({present} ? {len} : 0);"); return; }
            w.Open($"if {present}");
            w.Line($"e.ArraySize({len});");
            if (!raw)
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
            if (!raw)
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
            int min = isStruct && IsPartialMode(m) ? 0 : plan.MinElemWireSize;
            if (min > 0) w.Line($"if (!d.CheckArrayFits({n}, {min})) return{_ret};");
        }
        var p = T();
        w.Line($"var {p} = ({elemCs}*)d.Alloc({n}, (ulong)sizeof({elemCs}));");
        w.Line($"if ({p} == null) return{_ret};");
        if (!sizeOnly)
        {
            if (!raw)
            {
                w.Open($"for (ulong {i} = 0; {i} < {n}; {i}++)");
                Elem(w, t, $"{p}[{i}]", m == Mode.DecodePartial && t.Kind == TypeKind.Handle ? Mode.DecodeInto : m, translate);
                // Each handle of an array the spec requires to hold valid handles (vkWaitForFences's
                // fences, a submit's command buffers) may not be VK_NULL_HANDLE where handles are translated.
                if (t.Kind == TypeKind.Handle && m == Mode.Decode && translate && !f.NullHandleAllowed)
                    w.Line($"if ({p}[{i}] == 0 && d.Translator != null) {{ d.Fail(VnDecodeError.NullHandle); return{_ret}; }}");
                w.Close();
            }
            else
            {
                w.Line($"d.Bytes({p}, {n} * {nat});");
                // Each value of an enum array (dynamic states, formats of a view list, ...) must be
                // one of its type's, as a single enum must (Elem).
                if (t.Kind == TypeKind.Enum && t.Method is "I32" or "U32" && t.Cs == t.VkName && m == Mode.Decode && translate && _enumChecks.Contains(t.VkName))
                    w.Line($"if (d.Translator != null) for (ulong {i} = 0; {i} < {n}; {i}++) if (!VkEnumCheck.{t.VkName}(({t.MethodCs}){p}[{i}])) {{ d.Fail(VnDecodeError.InvalidEnum); return{_ret}; }}");
            }
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
}
