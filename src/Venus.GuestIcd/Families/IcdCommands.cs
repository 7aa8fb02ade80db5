using System.Runtime.CompilerServices;
using Venus.GuestIcd.Runtime;
using Venus.Protocol.Vulkan;
using Device = Venus.GuestIcd.Runtime.Device;
using PhysicalDevice = Venus.GuestIcd.Runtime.PhysicalDevice;

namespace Venus.GuestIcd.Families;

/// <summary>
/// The commands that need the guest's own logic (cached physical-device data, object state, local
/// command recording, mapping, feedback-slot waits, descriptor clean-up, WSI), one file per object
/// family; everything else is generated forwarding (Generated/Entrypoints*.cs).
/// <para>
/// To add a hand-written command: one line in src/Venus.Codegen/Definitions/icd.xml
/// (<c>&lt;handwritten command="vkX" family="Sync"/&gt;</c>, its core name; <c>when="..."</c> for a C#
/// condition under which it is exported), run <c>bash eng/codegen.sh</c>, then implement
/// <c>internal static partial VkResult vkX(...)</c> with the declared signature in Families/Sync.cs.
/// The generator emits the rest from vk.xml: the partial declaration (Generated/FamilyDeclarations.cs;
/// a listed command without its implementation fails the build, CS8795), the
/// <c>[UnmanagedCallersOnly]</c> export that catches every exception (Generated/FamilyExports.cs:
/// VkResult commands return Icd.Fail's code, the others log), and the proc-table entries under the
/// core name and every alias with its version and extension (Generated/ProcTable.cs). A partial
/// method that icd.xml does not list has no declaration and fails the build too (CS0759).
/// </para>
/// <para>
/// A vkCmd* that only needs something done once it is recorded is not hand-written: a
/// <c>&lt;hook command="vkCmdX" family="Queries"/&gt;</c> line in icd.xml keeps its generated export
/// (the flat fast path, errors recorded on the command buffer) and makes it call
/// <c>internal static partial void vkCmdXRecorded(CommandBuffer cb, ...the other parameters)</c>, declared
/// in Generated/FamilyHooks.cs and implemented in the family file (a missing one fails the build, CS8795).
/// </para>
/// </summary>
internal static unsafe partial class IcdCommands
{
    private static PhysicalDevice Physical(ulong handle) => DispatchableObject.From<PhysicalDevice>(handle);

    private static Device Dev(ulong handle) => DispatchableObject.From<Device>(handle);

    /// <summary>
    /// The Vulkan two-call idiom: with no output array, the count; otherwise up to *pCount items
    /// and VK_INCOMPLETE when that was not all of them.
    /// </summary>
    private static VkResult Enumerate<T>(ReadOnlySpan<T> items, uint* pCount, T* pItems) where T : unmanaged
    {
        if (pCount == null)
            return VkResult.VK_ERROR_INITIALIZATION_FAILED;
        if (pItems == null)
        {
            *pCount = (uint)items.Length;
            return VkResult.VK_SUCCESS;
        }
        uint n = Math.Min(*pCount, (uint)items.Length);
        items[..(int)n].CopyTo(new Span<T>(pItems, (int)n));
        *pCount = n;
        return n < items.Length ? VkResult.VK_INCOMPLETE : VkResult.VK_SUCCESS;
    }

    /// <summary>A wait or status query that saw work complete: the device's writes to imported host memory become the app's.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static VkResult Completed(Device device, VkResult r)
    {
        if ((r == VkResult.VK_SUCCESS || r == VkResult.VK_EVENT_SET) && device.HasHostImports)
            device.PullDeviceWrites();
        return r;
    }
}
