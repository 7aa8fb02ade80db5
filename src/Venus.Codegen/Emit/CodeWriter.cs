using System.Text;

namespace Venus.Codegen.Emit;

/// <summary>Indented text builder for generated C# files.</summary>
public sealed class CodeWriter
{
    readonly StringBuilder _sb = new();
    int _indent;

    public CodeWriter Line(string s = "")
    {
        if (s.Length == 0) { _sb.Append('\n'); return this; }
        _sb.Append(' ', _indent * 4).Append(s).Append('\n');
        return this;
    }

    public CodeWriter Open(string s)
    {
        Line(s);
        Line("{");
        _indent++;
        return this;
    }

    public CodeWriter Close(string suffix = "")
    {
        _indent--;
        Line("}" + suffix);
        return this;
    }

    public void Indent() => _indent++;
    public void Dedent() => _indent--;

    /// <summary>The header every generated file starts with (Templates/header.sbn).</summary>
    public static string Header(string what) => Templates.Render("header.sbn", new { What = what });

    public override string ToString() => _sb.ToString();
}
