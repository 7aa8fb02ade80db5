using Venus.Codegen.Model;

namespace Venus.Codegen.Emit;

/// <summary>Wire codecs (<see cref="WireEmitter"/>): Structs: the struct codec file, its chain info, entry points and the struct's own fields.</summary>
public sealed partial class WireEmitter
{
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
            if (NeedsRawEncode(s)) EmitRawStructEncode(w, s);
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
}
