using System.Globalization;
using Venus.Codegen.Model;

namespace Venus.Codegen.Emit;

/// <summary>
/// Writes <c>VkFormatInfo.cs</c>: per format of vk.xml's &lt;formats&gt;, the texel block (bytes and
/// extent), the bytes a depth or stencil texel takes in a buffer or host-memory copy, and the
/// compatible format of each plane. Both halves size host image copies with it.
/// </summary>
public sealed class FormatEmitter
{
    readonly ProtocolModel _m;

    public FormatEmitter(ProtocolModel m) => _m = m;

    public string Emit()
    {
        var w = new CodeWriter();
        w.Line(CodeWriter.Header("Texel blocks of every format in vk.xml's <formats>."));
        w.Line("using Venus.Protocol.Vulkan;");
        w.Line();
        w.Line("namespace Venus.Protocol;");
        w.Line();
        w.Open("public static partial class VkFormatInfo");
        w.Line("/// <summary>The format's block, or false for a format vk.xml does not describe (UNDEFINED, unknown values).</summary>");
        w.Open("public static bool TryGet(VkFormat format, out FormatBlock block)");
        w.Open("block = format switch");
        foreach (var f in _m.Reg.Formats)
        {
            string planes = f.Planes.Count == 0 ? "" : ", " + string.Join(", ", f.Planes.Select(p => $"VkFormat.{p}"));
            w.Line($"VkFormat.{f.Name} => new FormatBlock({f.BlockSize}, {f.BlockWidth}, {f.BlockHeight}, {f.BlockDepth}, " +
                $"{DepthBytes(f.DepthBits)}, {(f.StencilBits > 0 ? 1 : 0)}, {f.Planes.Count}{planes}),");
        }
        w.Line("_ => default,");
        w.Dedent();
        w.Line("};");
        w.Line("return block.Size != 0;");
        w.Close();
        w.Close();
        return w.ToString();
    }

    // A depth texel in a copy: 16-bit depth takes 2 bytes, 24- and 32-bit depth take 4 (Vulkan spec, buffer-image copies).
    static int DepthBytes(int bits) => bits switch { 0 => 0, <= 16 => 2, _ => 4 };
}
