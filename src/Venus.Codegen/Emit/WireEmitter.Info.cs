using Venus.Codegen.Model;

namespace Venus.Codegen.Emit;

/// <summary>Wire codecs (<see cref="WireEmitter"/>): The command table for dispatch, dump and tests.</summary>
public sealed partial class WireEmitter
{
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
