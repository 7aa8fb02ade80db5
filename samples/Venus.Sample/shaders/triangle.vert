#version 450
// One triangle from gl_VertexIndex, a colour per corner; no vertex buffers.
layout(location = 0) out vec3 color;
void main()
{
    vec2 corners[3] = vec2[](vec2(0.0, -0.8), vec2(0.8, 0.8), vec2(-0.8, 0.8));
    vec3 colors[3] = vec3[](vec3(1.0, 0.0, 0.0), vec3(0.0, 1.0, 0.0), vec3(0.0, 0.0, 1.0));
    gl_Position = vec4(corners[gl_VertexIndex], 0.0, 1.0);
    color = colors[gl_VertexIndex];
}
