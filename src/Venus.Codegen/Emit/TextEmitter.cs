using Venus.Codegen.Model;

namespace Venus.Codegen.Emit;

/// <summary>
/// Readable text of decoded commands, for tools (`venus dump`) and logs: every struct and command
/// written as <c>name(param=value, ...)</c>. Not used on hot paths.
/// </summary>
public sealed class TextEmitter
{
    readonly ProtocolModel _m;
    readonly NativeEmitter _native;
    readonly WireEmitter _wire;

    public TextEmitter(ProtocolModel m, NativeEmitter native, WireEmitter wire)
    {
        _m = m;
        _native = native;
        _wire = wire;
    }

    public string Emit()
    {
        var w = new CodeWriter();
        w.Line(CodeWriter.Header("Text of decoded Venus commands (tools and logs)."));
        w.Line("using System.Text;");
        w.Line("using Venus.Protocol.Commands;");
        w.Line("using Venus.Protocol.Vulkan;");
        w.Line("using Venus.Protocol.Wire;");
        w.Line();
        w.Line("namespace Venus.Protocol;");
        w.Line();
        w.Open("public static unsafe partial class VenusCommandText");
        // chain elements by sType
        w.Open("static void Chain(StringBuilder s, void* p, int depth)");
        w.Line("if (p == null) { s.Append(\"NULL\"); return; }");
        w.Line("if (depth > 16) { s.Append(\"...\"); return; }");
        w.Line("var h = (VnChainHeader*)p;");
        w.Open("switch (h->sType)");
        foreach (var st in _wire.WireStructs().Where(x => x.HasSType && !x.IsUnion))
            w.Line($"case {st.STypeValue}: Struct(s, ({st.Name}*)p); break;");
        w.Line("default: s.Append(\"{sType=\").Append(h->sType).Append('}'); break;");
        w.Close();
        w.Close();
        foreach (var st in _wire.WireStructs()) EmitStruct(w, st);
        w.Line();
        w.Line("/// <summary>Decodes one command (header included) and writes it as text; false when it does not decode.</summary>");
        w.Open("public static bool Describe(ReadOnlySpan<byte> command, StringBuilder s, VnArena arena, out int used, out bool reencodesIdentically)");
        w.Line("used = 0; reencodesIdentically = false;");
        w.Line("var d = new VnDecoder(command, arena);");
        w.Line("int type = (int)d.U32(); uint flags = d.U32();");
        w.Line("if (d.Failed) return false;");
        w.Open("switch (type)");
        foreach (var c in _wire.WireCommands()) w.Line($"case {c.TypeValue}: return {c.Name}_(command, ref d, flags, s, out used, out reencodesIdentically);");
        w.Line("default: s.Append(\"unknown command type \").Append(type); return false;");
        w.Close();
        w.Close();
        foreach (var c in _wire.WireCommands()) EmitCommand(w, c);
        w.Close();
        return w.ToString();
    }

    void Value(CodeWriter w, TypeRef t, string lv, string? tag = null)
    {
        switch (t.Kind)
        {
            case TypeKind.Scalar:
                w.Line($"s.Append({lv});");
                break;
            case TypeKind.Enum:
                w.Line($"s.Append(({t.Cs}){lv});");
                break;
            case TypeKind.Handle:
                w.Line($"s.Append(\"0x\").Append(((ulong){lv}).ToString(\"x\"));");
                break;
            case TypeKind.Struct:
            case TypeKind.Union:
                if (t.Struct!.SelectedUnion) w.Line($"Struct(s, &{lv}, (int)({tag ?? "0"}));");
                else w.Line($"Struct(s, &{lv});");
                break;
            default:
                w.Line("s.Append('?');");
                break;
        }
    }

    void Field(CodeWriter w, FieldModel f, string pfx, string? selectorPfx)
    {
        string lv = pfx + NativeEmitter.Escape(f.Name);
        var t = f.Elem;
        switch (f.Shape)
        {
            case FieldShape.SType:
                w.Line($"s.Append(\"sType=\").Append({lv});");
                return;
            case FieldShape.PNext:
                w.Line($"s.Append(\"pNext=\"); Chain(s, {lv}, 0);");
                return;
            case FieldShape.AllocationCallbacks:
                w.Line($"s.Append(\"{f.Name}=NULL\");");
                return;
        }
        w.Line($"s.Append(\"{f.Name}=\");");
        switch (f.Shape)
        {
            case FieldShape.Value:
                Value(w, t, lv, f.Selector != null ? (selectorPfx ?? pfx) + f.Selector : null);
                break;
            case FieldShape.FixedArray:
                if (t.Kind == TypeKind.Char) w.Line($"s.Append('\"').Append(new string((sbyte*){lv})).Append('\"');");
                else if (t.Struct != null)
                {
                    w.Line($"s.Append(\"[{f.FixedLen}]{{\");");
                    w.Line($"for (int i = 0; i < {f.FixedLen} && i < 4; i++) {{ if (i > 0) s.Append(\", \"); Struct(s, &(({t.Cs}*)&{lv})[i]); }}");
                    w.Line($"s.Append('}}');");
                }
                else
                {
                    string cs = t.Kind == TypeKind.Enum ? _native.UnderlyingOf(t) : t.Cs;
                    w.Line($"s.Append('[');");
                    w.Line($"for (int i = 0; i < {f.FixedLen} && i < 16; i++) {{ if (i > 0) s.Append(' '); s.Append((({cs}*){lv})[i]); }}");
                    w.Line($"s.Append(']');");
                }
                break;
            case FieldShape.Pointer:
                w.Line($"if ({lv} == null) s.Append(\"NULL\"); else {{");
                w.Indent();
                if (t.Kind == TypeKind.Void) w.Line("s.Append(\"...\");"); else Value(w, t, $"(*{lv})");
                w.Dedent();
                w.Line("}");
                break;
            case FieldShape.String:
                w.Line($"if ({lv} == null) s.Append(\"NULL\"); else s.Append('\"').Append(new string((sbyte*){lv})).Append('\"');");
                break;
            case FieldShape.StringArray:
                {
                    string len = string.Format(f.LenExpr!, pfx);
                    w.Line($"if ({lv} == null) s.Append(\"NULL\"); else {{ s.Append('['); for (ulong i = 0; i < {len}; i++) {{ if (i > 0) s.Append(\", \"); s.Append('\"').Append(new string((sbyte*){lv}[i])).Append('\"'); }} s.Append(']'); }}");
                    break;
                }
            case FieldShape.Blob:
                {
                    string len = string.Format(f.LenExpr!, pfx);
                    w.Line($"if ({lv} == null) s.Append(\"NULL\"); else s.Append('<').Append({len}).Append(\" bytes>\");");
                    break;
                }
            case FieldShape.Skipped:
                w.Line("s.Append(\"(not sent)\");");
                break;
            case FieldShape.PointerArray:
                {
                    string len = string.Format(f.LenExpr!, pfx);
                    w.Line($"if ({lv} == null) s.Append(\"NULL\"); else s.Append('<').Append({len}).Append(\" arrays>\");");
                    break;
                }
            case FieldShape.Array:
                {
                    string len = string.Format(f.LenExpr!, pfx);
                    w.Line($"if ({lv} == null) s.Append(\"NULL\"); else {{");
                    w.Indent();
                    w.Line($"s.Append('[');");
                    w.Line($"ulong n = {len};");
                    w.Open("for (ulong i = 0; i < n && i < 8; i++)");
                    w.Line("if (i > 0) s.Append(\", \");");
                    Value(w, t, $"{lv}[i]");
                    w.Close();
                    w.Line("if (n > 8) s.Append(\", ...\");");
                    w.Line($"s.Append(']');");
                    w.Dedent();
                    w.Line("}");
                    break;
                }
        }
    }

    void EmitStruct(CodeWriter w, StructModel st)
    {
        string tag = st.SelectedUnion ? ", int tag" : "";
        w.Open($"public static void Struct(StringBuilder s, {st.Name}* v{tag})");
        w.Line("s.Append('{');");
        if (st.IsUnion)
        {
            var members = st.Fields.Select((f, i) => (f, i)).Where(x => x.f.Unsupported == null && x.f.Elem.Kind is not (TypeKind.Opaque or TypeKind.FuncPointer or TypeKind.Void) && (x.f.Elem.Struct == null || x.f.Elem.Struct.Encodable)).ToList();
            foreach (var (f, i) in members)
            {
                if (!st.SelectedUnion)
                {
                    // A default-tag union holds (and prints) its default member only.
                    if (i == st.DefaultTag) Field(w, f, "v->", null);
                    continue;
                }
                w.Open($"if ({string.Join(" || ", f.Selection.Select(v => $"tag == {v}"))})");
                Field(w, f, "v->", null);
                w.Close();
            }
        }
        else
        {
            bool first = true;
            foreach (var f in st.Fields)
            {
                if (!first) w.Line("s.Append(\", \");");
                first = false;
                Field(w, f, "v->", "v->");
            }
        }
        w.Line("s.Append('}');");
        w.Close();
    }

    void EmitCommand(CodeWriter w, CommandModel c)
    {
        w.Open($"static bool {c.Name}_(ReadOnlySpan<byte> command, ref VnDecoder d, uint flags, StringBuilder s, out int used, out bool same)");
        w.Line("used = 0; same = false;");
        w.Line($"{c.Name}.Args a = default;");
        w.Line($"{c.Name}.Decode(ref d, &a);");
        w.Line($"s.Append(\"{c.Name}(\");");
        w.Line("if (d.Failed) { s.Append(\"<decode error \").Append(d.Error).Append(\" at byte \").Append(d.ErrorPosition).Append(\">)\"); return false; }");
        w.Line("used = d.Position;");
        bool first = true;
        foreach (var p in c.Params)
        {
            if (!first) w.Line("s.Append(\", \");");
            first = false;
            Field(w, p, "a.", "a.");
        }
        w.Line("s.Append(')');");
        w.Line("if ((flags & 1) != 0) s.Append(\" -> reply\");");
        w.Line($"var again = new byte[{c.Name}.Size(&a)];");
        w.Line("var e = new VnEncoder(again);");
        w.Line($"{c.Name}.Encode(ref e, (VkCommandFlagBitsEXT)flags, &a);");
        w.Line("same = again.AsSpan().SequenceEqual(command[..used]);");
        w.Line("return true;");
        w.Close();
    }
}
