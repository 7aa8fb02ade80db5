using Venus.Codegen.Model;

namespace Venus.Codegen.Emit;

/// <summary>Wire codecs (<see cref="WireEmitter"/>): Unions: default-tag unions travel as u32 tag + member, selected ones by their owner's selector.</summary>
public sealed partial class WireEmitter
{
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
}
