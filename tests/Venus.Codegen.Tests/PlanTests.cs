using Venus.Codegen.Emit;
using Venus.Codegen.Model;

namespace Venus.Codegen.Tests;

/// <summary>The per-field plan and the recording fast path's decisions for commands and structs whose wire form venus-protocol.md fixes.</summary>
[Collection("generator")]
public class PlanTests(GeneratorFixture g)
{
    [Fact]
    public void VkCmdDrawIsFlatWithAConstantSize()
    {
        var c = g.Command("vkCmdDraw");
        Assert.True(g.Wire.IsFlatCommand(c));
        Assert.Equal(WireKind.Handle, g.Plan(c, "commandBuffer").Kind);
        Assert.All(c.Params.Skip(1), p => Assert.Equal(WireKind.Scalar, g.Wire.Plan(p).Kind));
        // header 8 + commandBuffer 8 + four u32: one constant, no running sum
        string code = g.Wire.EmitCommand(c);
        Assert.Contains("return 32;", code);
        Assert.Contains("public static void Encode(ref VnRawWriter e, VkCommandFlagBitsEXT cmdFlags, ulong commandBuffer, uint vertexCount", code);
    }

    [Fact]
    public void VkCmdBindDescriptorSetsArraysAreCountedByParameters()
    {
        var c = g.Command("vkCmdBindDescriptorSets");
        var sets = g.Plan(c, "pDescriptorSets");
        Assert.Equal(WireKind.Array, sets.Kind);
        Assert.Equal(TypeKind.Handle, sets.Elem.Kind);
        Assert.Equal("descriptorSetCount", sets.CountName);
        Assert.False(sets.RawCopy); // handles are written one by one (ids, §1.7)
        var offsets = g.Plan(c, "pDynamicOffsets");
        Assert.Equal(WireKind.Array, offsets.Kind);
        Assert.True(offsets.RawCopy);
        Assert.Equal(4, offsets.ElemNativeSize);
        Assert.Equal("dynamicOffsetCount", offsets.CountName);
        Assert.True(g.Wire.IsFlatCommand(c));
    }

    [Fact]
    public void VkCmdPushConstantsValuesAreABlob()
    {
        var c = g.Command("vkCmdPushConstants");
        var values = g.Plan(c, "pValues");
        Assert.Equal(WireKind.Blob, values.Kind);
        Assert.Equal("byte", values.ElemCs);
        Assert.Equal(1, values.ElemNativeSize);
        Assert.Equal("size", values.CountName);
        Assert.True(g.Wire.IsFlatCommand(c));
    }

    [Fact]
    public void CommandsWhoseSizeDependsOnAppMemoryKeepTheCheckedEncoder()
    {
        // structs with sType/pNext in arrays: counts and chains live in app memory
        Assert.False(g.Wire.IsFlatCommand(g.Command("vkCmdPipelineBarrier")));
        Assert.False(g.Wire.IsFlatCommand(g.Command("vkCmdBeginRenderPass")));
        // a union behind a pointer
        Assert.False(g.Wire.IsFlatCommand(g.Command("vkCmdClearColorImage")));
        // not a recording command at all
        Assert.False(g.Wire.IsFlatCommand(g.Command("vkQueueSubmit")));
        Assert.DoesNotContain("VnRawWriter", g.Wire.EmitCommand(g.Command("vkCmdPipelineBarrier")));
    }

    [Fact]
    public void VkSubmitInfoMembers()
    {
        var s = g.Struct("VkSubmitInfo");
        Assert.Equal(WireKind.Chain, g.Plan(s, "sType").Kind);
        Assert.Equal(WireKind.Chain, g.Plan(s, "pNext").Kind);
        var waits = g.Plan(s, "pWaitSemaphores");
        Assert.Equal(WireKind.Array, waits.Kind);
        Assert.Equal(TypeKind.Handle, waits.Elem.Kind);
        Assert.Equal("waitSemaphoreCount", waits.CountName);
        Assert.Equal(8, waits.MinElemWireSize);
        Assert.Equal(WireKind.Scalar, g.Plan(s, "commandBufferCount").Kind);
        Assert.False(g.Wire.IsFlatStruct(s));
    }

    [Fact]
    public void FlatStructsHaveConstantWireSizes()
    {
        Assert.True(g.Wire.IsFlatStruct(g.Struct("VkViewport")));
        Assert.Equal(24, g.Wire.FlatWireSize(g.Struct("VkViewport")));   // six f32
        Assert.True(g.Wire.IsFlatStruct(g.Struct("VkRect2D")));
        Assert.Equal(16, g.Wire.FlatWireSize(g.Struct("VkRect2D")));     // offset (2 i32) + extent (2 u32)
        Assert.Equal(WireKind.Struct, g.Plan(g.Struct("VkRect2D"), "offset").Kind);
        // a fixed array of structs is not flat (VkOffset3D srcOffsets[2])
        Assert.False(g.Wire.IsFlatStruct(g.Struct("VkImageBlit")));
        Assert.Equal(WireKind.FixedArray, g.Plan(g.Struct("VkImageBlit"), "srcOffsets").Kind);
    }

    [Fact]
    public void AllocatorAndStringMembers()
    {
        Assert.Equal(WireKind.AllocationCallbacks, g.Plan(g.Command("vkCreateBuffer"), "pAllocator").Kind);
        var app = g.Struct("VkApplicationInfo");
        Assert.Equal(WireKind.String, g.Plan(app, "pApplicationName").Kind);
        Assert.True(g.Plan(app, "pApplicationName").Optional);
        var ici = g.Struct("VkInstanceCreateInfo");
        Assert.Equal(WireKind.StringArray, g.Plan(ici, "ppEnabledExtensionNames").Kind);
        Assert.Equal(WireKind.Pointer, g.Plan(ici, "pApplicationInfo").Kind);
    }
}
