using Venus.Codegen.Model;

namespace Venus.Codegen.Emit;

/// <summary>Wire codecs (<see cref="WireEmitter"/>): Commands: request and reply codecs per command.</summary>
public sealed partial class WireEmitter
{
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
        // The shell (class, Type, Args, the Args conveniences) is Templates/command.sbn; the functions are field code.
        var w = new CodeWriter();
        w.Indent();
        string ret = RetCs(c);
        bool hasRet = c.Return != null;
        string pl = ParamList(c);
        string plc = pl.Length > 0 ? ", " + pl : "";
        var argsFields = c.Params.Select(p => $"{ParamCs(p)} {NativeEmitter.Escape(p.Name)}").ToList();
        if (hasRet) argsFields.Add($"{ret} ret");

        // request size
        bool flat = IsFlatCommand(c);
        if (flat) EmitFlatSize(w, c, pl);
        else
        {
            w.Open($"public static ulong Size({pl}{(pl.Length > 0 ? ", " : "")}VnProtocolFilter f = null)");
            w.Line("ulong n = 8;");
            foreach (var p in c.Params) RequestParam(w, c, p, Mode.Size);
            w.Line("return n;");
            w.Close();
        }
        // request encode
        w.Open($"public static void Encode(ref VnEncoder e, VkCommandFlagBitsEXT cmdFlags{plc})");
        w.Line("e.U32((uint)Type);");
        w.Line("e.U32((uint)cmdFlags);");
        foreach (var p in c.Params) RequestParam(w, c, p, Mode.Encode);
        w.Close();
        if (flat) EmitRawCommandEncode(w, c, plc);
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
        string sep = c.Params.Count > 0 ? ", " : "";
        var conveniences = new List<string>
        {
            $"public static ulong Size(Args* a, VnProtocolFilter f = null) => Size({ArgList(c, "a->")}{sep}f);",
            $"public static void Encode(ref VnEncoder e, VkCommandFlagBitsEXT cmdFlags, Args* a) => Encode(ref e, cmdFlags{sep}{ArgList(c, "a->")});",
        };
        if (flat) conveniences.Add($"public static void Encode(ref VnRawWriter e, VkCommandFlagBitsEXT cmdFlags, Args* a) => Encode(ref e, cmdFlags{sep}{ArgList(c, "a->")});");
        conveniences.Add($"public static ulong ReplySize(Args* a) => ReplySize({ArgList(c, "a->")});");
        conveniences.Add($"public static void EncodeReply(ref VnEncoder e, Args* a) => EncodeReply(ref e{(hasRet ? ", a->ret" : "")}{sep}{ArgList(c, "a->")});");
        conveniences.Add($"public static {ret} DecodeReply(ref VnDecoder d, Args* a) => DecodeReply(ref d{sep}{ArgList(c, "a->")});");
        return Templates.Render("command.sbn", new
        {
            c.Name, c.TypeValue, ArgsFields = argsFields, Functions = w.ToString().TrimEnd('\n'), Conveniences = conveniences,
        });
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
}
