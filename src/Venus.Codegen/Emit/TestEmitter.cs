using System.Text.RegularExpressions;
using Venus.Codegen.Model;

namespace Venus.Codegen.Emit;

/// <summary>
/// Test support generated from the same model: random but valid arguments for every command
/// (counts consistent with arrays, sTypes and pNext chains the protocol allows, union tags that
/// select a member) and a per-command round-trip and decode harness. Emitted into the test project,
/// never into the protocol assembly.
/// </summary>
public sealed class TestEmitter
{
    readonly ProtocolModel _m;
    readonly NativeEmitter _native;
    readonly WireEmitter _wire;
    int _tmp;

    public TestEmitter(ProtocolModel m, NativeEmitter native, WireEmitter wire)
    {
        _m = m;
        _native = native;
        _wire = wire;
    }

    string T() => "r" + (_tmp++);

    /// <summary>Names used inside len expressions of this struct/command: counts are kept small.</summary>
    static HashSet<string> LenNames(IEnumerable<FieldModel> fields, out HashSet<string> scaled)
    {
        var plain = new HashSet<string>();
        scaled = new HashSet<string>();
        foreach (var f in fields)
        {
            if (f.LenExpr == null) continue;
            if (f.LenName != null) { plain.Add(f.LenName); continue; }
            foreach (Match mm in Regex.Matches(f.LenExpr, @"\{0\}([A-Za-z_][A-Za-z0-9_]*)(?!->)"))
                scaled.Add(mm.Groups[1].Value);
        }
        return plain;
    }

    IEnumerable<StructModel> ChainOf(StructModel s) =>
        _m.ChainMembers(s).Where(x => x.Used && _native.NativeStructNames.Contains(x.Name) && (!s.Output || x.Output));

    public string Emit()
    {
        var w = new CodeWriter();
        w.Line(CodeWriter.Header("Random valid arguments and round-trip harness for every command (tests only)."));
        w.Line("using Venus.Protocol.Commands;");
        w.Line("using Venus.Protocol.Vulkan;");
        w.Line("using Venus.Protocol.Wire;");
        w.Line();
        w.Line("namespace Venus.Protocol.Tests.Generated;");
        w.Line();
        w.Open("public static unsafe partial class RandomArgs");
        foreach (var s in _wire.WireStructs()) EmitStruct(w, s);
        foreach (var c in _wire.WireCommands()) EmitCommand(w, c);
        w.Line();
        w.Line("/// <summary>Every command type that has a body, in numeric order.</summary>");
        w.Line($"public static readonly int[] CommandTypes = {{ {string.Join(", ", _wire.WireCommands().Select(c => c.TypeValue))} }};");
        w.Line();
        w.Line("/// <summary>Random args → encode → decode → re-encode (request and reply); null on success, else what differed.</summary>");
        w.Open("public static string RoundTrip(int type, TestRandom r) => type switch");
        foreach (var c in _wire.WireCommands()) w.Line($"{c.TypeValue} => RoundTrip_{c.Name}(r),");
        w.Line("_ => $\"no body for command type {type}\",");
        w.Close(";");
        w.Line();
        w.Line("/// <summary>A valid random request of this command type, encoded with the reply flag.</summary>");
        w.Open("public static byte[] EncodeRandom(int type, TestRandom r) => type switch");
        foreach (var c in _wire.WireCommands()) w.Line($"{c.TypeValue} => EncodeRandom_{c.Name}(r),");
        w.Line("_ => throw new ArgumentOutOfRangeException(nameof(type)),");
        w.Close(";");
        w.Line();
        w.Line("/// <summary>Decodes one request body (after type and flags) of the given type, as the host would.</summary>");
        w.Open("public static void DecodeBody(int type, ref VnDecoder d)");
        w.Open("switch (type)");
        foreach (var c in _wire.WireCommands()) w.Line($"case {c.TypeValue}: {{ {c.Name}.Args a = default; {c.Name}.Decode(ref d, &a); return; }}");
        w.Line("default: d.Fail(VnDecodeError.UnknownCommand); return;");
        w.Close();
        w.Close();
        w.Close();
        return w.ToString();
    }

    void EmitStruct(CodeWriter w, StructModel s)
    {
        if (s.IsUnion)
        {
            var members = s.Fields.Select((f, i) => (f, i)).Where(x => x.f.Unsupported == null && x.f.Elem.Kind is not (TypeKind.Opaque or TypeKind.FuncPointer or TypeKind.Void)
                && (x.f.Elem.Struct == null || x.f.Elem.Struct.Encodable)).ToList();
            // Default-tag unions are filled through the default member; selected unions return the tag they chose.
            w.Open($"public static int Fill(TestRandom r, {s.Name}* v)");
            if (s.SelectedUnion)
            {
                w.Line($"int pick = r.Below({members.Count});");
                for (int k = 0; k < members.Count; k++)
                {
                    var (f, _) = members[k];
                    w.Open($"if (pick == {k})");
                    FieldFill(w, s.Fields, f, "v->", new(), new());
                    w.Line($"return {f.Selection[0]};");
                    w.Close();
                }
                w.Line("return 0;");
            }
            else
            {
                var f = s.Fields[s.DefaultTag];
                FieldFill(w, s.Fields, f, "v->", new(), new());
                w.Line($"return {s.DefaultTag};");
            }
            w.Close();
            return;
        }
        var plain = LenNames(s.Fields, out var scaled);
        w.Open($"public static void Fill(TestRandom r, {s.Name}* v, int depth = 0)");
        if (s.HasSType) w.Line($"v->sType = {s.Name}.SType;");
        if (s.HasPNext)
        {
            var chain = ChainOf(s).ToList();
            if (chain.Count > 0)
            {
                // up to two distinct chain members, in random order
                w.Line("void* head = null;");
                w.Line($"int first = r.Below({chain.Count + 1}) - 1, second = r.Below({chain.Count + 1}) - 1;");
                w.Line("if (second == first) second = -1;");
                w.Open("foreach (int pick in new[] { first, second })");
                w.Line("if (pick < 0) continue;");
                w.Line("void* p = null;");
                w.Open("switch (pick)");
                for (int k = 0; k < chain.Count; k++)
                {
                    var x = chain[k];
                    w.Line($"case {k}: {{ var q = r.Alloc<{x.Name}>(1); q->sType = {x.Name}.SType; FillSelf(r, q); p = q; break; }}");
                }
                w.Close();
                w.Line("((VnChainHeader*)p)->pNext = head;");
                w.Line("head = p;");
                w.Close();
                w.Line("v->pNext = head;");
            }
        }
        w.Line("FillSelf(r, v);");
        w.Close();
        w.Open($"public static void FillSelf(TestRandom r, {s.Name}* v)");
        foreach (var f in s.Fields) FieldFill(w, s.Fields, f, "v->", plain, scaled);
        // selected unions: their tag is the owner's selector member
        foreach (var f in s.Fields.Where(f => f.Selector != null && f.Elem.Struct is { SelectedUnion: true }))
            w.Line($"*(int*)&v->{f.Selector} = Fill(r, &v->{NativeEmitter.Escape(f.Name)});");
        w.Close();
    }

    void ScalarFill(CodeWriter w, TypeRef t, string lv, string name, HashSet<string> plain, HashSet<string> scaled)
    {
        if (plain.Contains(name) || name.EndsWith("Count") || name == "dataSize")
            w.Line($"{lv} = ({t.Cs})r.Count();");
        else if (scaled.Contains(name))
            w.Line($"{lv} = ({t.Cs})(4 * (1 + r.Count()));");
        else
            w.Line($"{lv} = ({t.Cs})r.{t.Method}();");
    }

    void ElemFill(CodeWriter w, TypeRef t, string lv)
    {
        switch (t.Kind)
        {
            case TypeKind.Scalar:
            case TypeKind.Enum:
                w.Line($"{lv} = ({t.Cs})r.{t.Method}();");
                break;
            case TypeKind.Handle:
                w.Line($"{lv} = r.Handle();");
                break;
            case TypeKind.Struct:
                w.Line($"Fill(r, &{lv});");
                break;
            case TypeKind.Union:
                w.Line($"Fill(r, &{lv});");
                break;
        }
    }

    void FieldFill(CodeWriter w, List<FieldModel> fields, FieldModel f, string pfx, HashSet<string> plain, HashSet<string> scaled)
    {
        string lv = pfx + NativeEmitter.Escape(f.Name);
        var t = f.Elem;
        switch (f.Shape)
        {
            case FieldShape.SType:
            case FieldShape.PNext:
            case FieldShape.AllocationCallbacks:
            case FieldShape.Skipped:
                return;
            case FieldShape.PointerArray:
                {
                    var len = string.Format(f.LenExpr!, pfx);
                    var q = T(); var i = T(); var j = T(); var e = T();
                    string inner = string.Format(f.InnerLenExpr!, pfx, i);
                    w.Line($"var {q} = r.Alloc<nint>({len});");
                    w.Open($"for (ulong {i} = 0; {i} < {len}; {i}++)");
                    w.Line($"var {e} = r.Alloc<{t.Cs}>({inner});");
                    if (t.Kind is TypeKind.Scalar or TypeKind.Enum) w.Line($"r.Bytes({e}, (int)({inner} * (ulong)sizeof({t.Cs})));");
                    else
                    {
                        w.Open($"for (ulong {j} = 0; {j} < {inner}; {j}++)");
                        ElemFill(w, t, $"{e}[{j}]");
                        w.Close();
                    }
                    w.Line($"{q}[{i}] = (nint){e};");
                    w.Close();
                    w.Line($"{lv} = ({t.Cs}**){q};");
                    return;
                }
            case FieldShape.Value:
                if (t.Kind is TypeKind.Scalar or TypeKind.Enum) ScalarFill(w, t, lv, f.Name, plain, scaled);
                else if (t.Struct is { SelectedUnion: true }) { /* filled with its selector below */ }
                else ElemFill(w, t, lv);
                return;
            case FieldShape.FixedArray:
                {
                    string elemCs = t.Kind == TypeKind.Enum ? _native.UnderlyingOf(t) : t.Kind == TypeKind.Char ? "byte" : t.Cs;
                    if (t.Struct != null)
                    {
                        var i = T();
                        w.Line($"for (int {i} = 0; {i} < {f.FixedLen}; {i}++) Fill(r, &(({elemCs}*)&{lv})[{i}]);");
                    }
                    else if (t.Kind == TypeKind.Handle)
                    {
                        var i = T();
                        w.Line($"for (int {i} = 0; {i} < {f.FixedLen}; {i}++) (({elemCs}*){lv})[{i}] = r.Handle();");
                    }
                    else w.Line($"r.Bytes({lv}, {f.FixedLen * Math.Max(t.NativeSize, 1)});");
                    return;
                }
            case FieldShape.Pointer:
                {
                    var q = T();
                    w.Open(f.Optional ? "if (r.Chance(80))" : "");
                    w.Line($"var {q} = r.Alloc<{t.Cs}>(1);");
                    if (t.Kind is TypeKind.Scalar or TypeKind.Enum) ScalarFill(w, t, $"(*{q})", f.Name, plain, scaled);
                    else ElemFill(w, t, $"(*{q})");
                    w.Line($"{lv} = {q};");
                    w.Close();
                    return;
                }
            case FieldShape.String:
                w.Line(f.Optional ? $"{lv} = r.Chance(70) ? r.String() : null;" : $"{lv} = r.String();");
                return;
            case FieldShape.StringArray:
                {
                    var len = string.Format(f.LenExpr!, pfx);
                    var q = T(); var i = T();
                    w.Line($"var {q} = r.Alloc<nint>({len}); for (ulong {i} = 0; {i} < {len}; {i}++) {q}[{i}] = (nint)r.String(); {lv} = (byte**){q};");
                    return;
                }
            case FieldShape.Blob:
                {
                    var len = string.Format(f.LenExpr!, pfx);
                    var q = T();
                    w.Line($"{{ var {q} = r.Alloc<byte>({len}); r.Bytes({q}, (int){len}); {lv} = {q}; }}");
                    return;
                }
            case FieldShape.Array:
                {
                    var len = string.Format(f.LenExpr!, pfx);
                    var q = T(); var i = T();
                    string elemCs = t.Cs;
                    w.Open($"if ({len} != 0 || r.Chance(50))");
                    w.Line($"var {q} = r.Alloc<{elemCs}>({len});");
                    if (t.Kind is TypeKind.Scalar or TypeKind.Enum) w.Line($"r.Bytes({q}, (int)({len} * (ulong)sizeof({elemCs})));");
                    else
                    {
                        w.Open($"for (ulong {i} = 0; {i} < {len}; {i}++)");
                        ElemFill(w, t, $"{q}[{i}]");
                        w.Close();
                    }
                    w.Line($"{lv} = {q};");
                    w.Close();
                    return;
                }
        }
    }

    void EmitCommand(CodeWriter w, CommandModel c)
    {
        var plain = LenNames(c.Params, out var scaled);
        w.Open($"public static void Fill(TestRandom r, {c.Name}.Args* a)");
        foreach (var p in c.Params)
        {
            if (p.Shape == FieldShape.Pointer && (p.IsOutput || p.Elem.Kind is TypeKind.Scalar or TypeKind.Enum))
            {
                // outputs are always present here so the reply round trip has something to carry
                var q = T();
                w.Line($"{{ var {q} = r.Alloc<{p.Elem.Cs}>(1);");
                if (p.Elem.Kind is TypeKind.Scalar or TypeKind.Enum) ScalarFill(w, p.Elem, $"(*{q})", p.Name, plain, scaled);
                else ElemFill(w, p.Elem, $"(*{q})");
                w.Line($"a->{NativeEmitter.Escape(p.Name)} = {q}; }}");
                continue;
            }
            if (p.Reg.FixedDim != null)
            {
                var q = T();
                w.Line($"{{ var {q} = r.Alloc<{p.Elem.Cs}>({p.FixedLen}); r.Bytes({q}, {p.FixedLen} * sizeof({p.Elem.Cs})); a->{NativeEmitter.Escape(p.Name)} = {q}; }}");
                continue;
            }
            FieldFill(w, c.Params, p, "a->", plain, scaled);
            if (p.Shape == FieldShape.Value && p.Elem.Kind == TypeKind.Handle && !p.Optional)
                w.Line($"if (a->{NativeEmitter.Escape(p.Name)} == 0) a->{NativeEmitter.Escape(p.Name)} = 1;");
        }
        w.Close();

        string flags = "VkCommandFlagBitsEXT.VK_COMMAND_GENERATE_REPLY_BIT_EXT";
        w.Open($"public static byte[] EncodeRandom_{c.Name}(TestRandom r)");
        w.Line($"{c.Name}.Args a = default;");
        w.Line("Fill(r, &a);");
        w.Line($"var buf = new byte[{c.Name}.Size(&a)];");
        w.Line("var e = new VnEncoder(buf);");
        w.Line($"{c.Name}.Encode(ref e, {flags}, &a);");
        w.Line("return buf;");
        w.Close();

        w.Open($"public static string RoundTrip_{c.Name}(TestRandom r)");
        w.Line($"{c.Name}.Args a = default;");
        w.Line("Fill(r, &a);");
        w.Line($"ulong size = {c.Name}.Size(&a);");
        w.Line("var buf = new byte[size];");
        w.Line("var e = new VnEncoder(buf);");
        w.Line($"{c.Name}.Encode(ref e, {flags}, &a);");
        w.Line("if ((ulong)e.Position != size) return $\"request: Size said {size}, Encode wrote {e.Position}\";");
        if (_wire.IsFlatCommand(c))
        {
            // the recording fast path writes the same bytes as the checked encoder, and exactly Size of them
            w.Line("var raw = new byte[size];");
            w.Open("fixed (byte* rp = raw)");
            w.Line("var rw = new VnRawWriter(rp);");
            w.Line($"{c.Name}.Encode(ref rw, {flags}, &a);");
            w.Line("if ((ulong)(rw.Position - rp) != size) return $\"request: Size said {size}, the raw encoder wrote {rw.Position - rp}\";");
            w.Close();
            w.Line("if (!buf.AsSpan().SequenceEqual(raw)) return $\"request: the raw encoder differs at byte {TestRandom.FirstDifference(buf, raw)}\";");
        }
        w.Line("var d = new VnDecoder(buf, r.DecodeArena);");
        w.Line($"if (d.U32() != {c.TypeValue} || d.U32() != 1) return \"request header\";");
        w.Line($"{c.Name}.Args b = default;");
        w.Line($"{c.Name}.Decode(ref d, &b);");
        w.Line("if (d.Failed) return $\"request decode: {d.Error} at {d.ErrorPosition} of {size}\";");
        w.Line("if (!d.AtEnd) return $\"request decode stopped at {d.Position} of {size}\";");
        w.Line($"var buf2 = new byte[{c.Name}.Size(&b)];");
        w.Line("var e2 = new VnEncoder(buf2);");
        w.Line($"{c.Name}.Encode(ref e2, {flags}, &b);");
        w.Line("if (!buf.AsSpan().SequenceEqual(buf2)) return $\"request re-encode differs at byte {TestRandom.FirstDifference(buf, buf2)}\";");
        if (c.Return != null) w.Line($"a.ret = ({c.Return.Cs})r.{c.Return.Method}();");
        w.Line($"ulong rsize = {c.Name}.ReplySize(&a);");
        w.Line("var reply = new byte[rsize];");
        w.Line("var re = new VnEncoder(reply);");
        w.Line($"{c.Name}.EncodeReply(ref re, &a);");
        w.Line("if ((ulong)re.Position != rsize) return $\"reply: ReplySize said {rsize}, EncodeReply wrote {re.Position}\";");
        w.Line("var rd = new VnDecoder(reply);");
        w.Line($"{(c.Return != null ? "b.ret = " : "")}{c.Name}.DecodeReply(ref rd, &b);");
        w.Line("if (rd.Failed) return $\"reply decode: {rd.Error} at {rd.ErrorPosition} of {rsize}\";");
        w.Line("if (!rd.AtEnd) return $\"reply decode stopped at {rd.Position} of {rsize}\";");
        w.Line($"var reply2 = new byte[{c.Name}.ReplySize(&b)];");
        w.Line("var re2 = new VnEncoder(reply2);");
        w.Line($"{c.Name}.EncodeReply(ref re2, &b);");
        w.Line("if (!reply.AsSpan().SequenceEqual(reply2)) return $\"reply re-encode differs at byte {TestRandom.FirstDifference(reply, reply2)}\";");
        w.Line("return null;");
        w.Close();
    }
}
